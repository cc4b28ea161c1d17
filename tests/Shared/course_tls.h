/*
 * The TLS setup the course's tls-alex-server does, shared by the C stand-ins of the tests: OpenSSL
 * defaults (no ALPN; TLS 1.3 session tickets sent just after the handshake), a client certificate
 * required and verified against the CA file, and a listening socket on 127.0.0.1 on a free port,
 * announced as "port N" on stdout (line-buffered) for the test to read.
 */
#ifndef COURSE_TLS_H
#define COURSE_TLS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The server context for CERT, KEY and the CA that must have issued the client's certificate; NULL on error (printed). */
static SSL_CTX *course_tls_context(const char *cert, const char *key, const char *ca)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) <= 0 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) <= 0 ||
        SSL_CTX_load_verify_locations(ctx, ca, NULL) <= 0) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
}

/* Listens on 127.0.0.1 on a free port and prints "port N"; the socket, or -1 on error (printed). */
static int course_tls_listen(int backlog)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, backlog) < 0) {
        perror("listen");
        return -1;
    }
    socklen_t len = sizeof(addr);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    printf("port %d\n", ntohs(addr.sin_port));
    return fd;
}

#endif
