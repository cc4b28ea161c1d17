/*
 * A course-style TLS server that dies of SIGPIPE, as the course's tls-alex-server does: OpenSSL defaults
 * (no ALPN; TLS 1.3 session tickets sent just after the handshake), client certificate required and
 * verified against the CA file, SIGPIPE left at its default, and SSL_shutdown (which writes close_notify)
 * after every connection, also a failed one. A client that closes with unread data makes its kernel
 * answer with a reset; the next write here then ends this process by SIGPIPE.
 *
 * usage: fragile_server CERT KEY CA
 * Serves one connection after another on 127.0.0.1. Prints "port N" once listening, then per
 * connection "handshake ok" or "handshake failed", each command record as "record HEX", and "closed".
 */
#include "course_tls.h"
#include <stdint.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CERT KEY CA\n", argv[0]);
        return 2;
    }
    SSL_CTX *ctx = course_tls_context(argv[1], argv[2], argv[3]);
    int fd = course_tls_listen(8);
    if (ctx == NULL || fd < 0)
        return 1;

    for (;;) {
        int conn = accept(fd, NULL, NULL);
        if (conn < 0)
            continue;
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, conn);
        if (SSL_accept(ssl) <= 0) {
            printf("handshake failed\n");
            ERR_clear_error();
        } else {
            printf("handshake ok\n");
            char buf[256];
            int n;
            while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
                printf("record ");
                for (int i = 0; i < n; i++)
                    printf("%02X", (unsigned char)buf[i]);
                printf("\n");
                if (buf[0] == 3 && n >= 10) {
                    char ok[2] = {0, 0};
                    SSL_write(ssl, ok, sizeof(ok));
                }
            }
            ERR_clear_error();
        }
        SSL_shutdown(ssl); /* writes close_notify: SIGPIPE here if the client reset the connection */
        printf("closed\n");
        SSL_free(ssl);
        close(conn);
    }
}
