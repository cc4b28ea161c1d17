/*
 * A stand-in for the course's tls-alex-server networking (docs/course-protocol.md §4-5), written the way the
 * course's C code does it, to prove our client drives an OpenSSL server that assumes one message per
 * TLS record: OpenSSL defaults (no ALPN), client certificate required and verified against the CA
 * file with depth 4, the client's name checked during the handshake, one SSL_read = one message,
 * one SSL_write per reply, unknown letters dropped silently, `g` answered with OK then STATUS.
 *
 * usage: course_server CERT KEY CA CLIENT_NAME
 * Prints "port N" once listening on 127.0.0.1, then "record HEX" for every SSL_read, on stdout.
 */
#include "course_tls.h"
#include <openssl/x509v3.h>
#include <stdint.h>
#include <unistd.h>

static void send_ok(SSL *ssl, char code)
{
    char resp[2] = {0, code};
    SSL_write(ssl, resp, sizeof(resp));
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s CERT KEY CA CLIENT_NAME\n", argv[0]);
        return 2;
    }
    SSL_CTX *ctx = course_tls_context(argv[1], argv[2], argv[3]);
    if (ctx == NULL)
        return 1;
    SSL_CTX_set_verify_depth(ctx, 4);
    X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx), argv[4], 0);
    int fd = course_tls_listen(4);
    if (fd < 0)
        return 1;

    int conn = accept(fd, NULL, NULL);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, conn);
    if (SSL_accept(ssl) <= 0) {
        printf("handshake failed\n");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    printf("tls %s alpn %u sni %s\n", SSL_get_version(ssl), alpn_len, sni ? sni : "-");

    char buf[256];
    int n;
    while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
        printf("record ");
        for (int i = 0; i < n; i++)
            printf("%02X", (unsigned char)buf[i]);
        printf("\n");
        if (buf[0] != 3 || n < 10)
            continue; /* the course server ignores anything but a command */
        switch (buf[1]) {
        case 'f': case 'F': case 'b': case 'B': case 'l': case 'L':
        case 'r': case 'R': case 's': case 'S': case 'c': case 'C':
            send_ok(ssl, 0);
            break;
        case 'g': case 'G': {
            send_ok(ssl, 0);
            char status[65];
            uint32_t params[16] = {477, 477, 286, 286, 114, 228, 228, 114, 49, 29};
            status[0] = 1;
            memcpy(&status[1], params, sizeof(params));
            SSL_write(ssl, status, sizeof(status));
            break;
        }
        case 'x':
            send_ok(ssl, 4); /* stands in for an Arduino BAD_COMMAND */
            break;
        default:
            break; /* dropped silently, as the course server does */
        }
    }
    printf("closed\n");
    SSL_free(ssl);
    close(conn);
    close(fd);
    SSL_CTX_free(ctx);
    return 0;
}
