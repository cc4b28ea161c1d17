/*
 * A stand-in for the course's tls-alex-client (PROTOCOL.md §4-5), written the way the course's C code
 * does it, to prove such a client drives our server unchanged: OpenSSL defaults (any TLS but SSLv2/3,
 * default ciphers, no ALPN, no SNI), laptop.crt / laptop.key / signing.pem from the working directory,
 * the server's chain checked against signing.pem (depth 4) but not its name (the course client's bug),
 * one SSL_write per 10-byte command, and one SSL_read per message, trusting read boundaries.
 *
 * usage: course_client HOST PORT [TEAM-LETTERS]      commands on stdin, as the course client prompts for them:
 *   f/b/l/r on one line, then "distance power" on the next; s, c, g alone; q quits without a TLS
 *   close_notify (the server just sees the connection end).
 * TEAM-LETTERS, as a team that extended its client adds them (docs/extensions.md): each is sent like s/c/g and its
 *   one reply read; an upper-case one prompts for "param0 param1" on the next line, as f/b/l/r do.
 * Prints "record HEX" for every SSL_read, on stdout.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void put32(unsigned char *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = u & 0xff;
    p[1] = (u >> 8) & 0xff;
    p[2] = (u >> 16) & 0xff;
    p[3] = (u >> 24) & 0xff;
}

/* One SSL_read is one message, as the course client assumes. */
static int read_record(SSL *ssl)
{
    unsigned char buf[256];
    int n = SSL_read(ssl, buf, sizeof(buf));
    if (n <= 0) {
        printf("closed\n");
        return -1;
    }
    printf("record ");
    for (int i = 0; i < n; i++) {
        printf("%02X", buf[i]);
    }
    printf("\n");
    return buf[0];
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT [TEAM-LETTERS]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_use_certificate_file(ctx, "laptop.crt", SSL_FILETYPE_PEM) <= 0 ||
        SSL_CTX_use_PrivateKey_file(ctx, "laptop.key", SSL_FILETYPE_PEM) <= 0 ||
        SSL_CTX_load_verify_locations(ctx, "signing.pem", NULL) <= 0) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(ctx, 4);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("connect");
        return 1;
    }

    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) <= 0) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    printf("connected %s %s\n", SSL_get_version(ssl), SSL_get_cipher(ssl));

    char line[128];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char letter = line[0];
        if (letter == 'q' || letter == 'Q') {
            break;
        }
        int32_t p0 = 0, p1 = 0;
        const char *team = argc == 4 ? argv[3] : "";
        if (letter != '\n' && strchr(team, letter) != NULL) {
            if (letter >= 'A' && letter <= 'Z') {
                if (fgets(line, sizeof(line), stdin) == NULL || sscanf(line, "%d %d", &p0, &p1) != 2) {
                    fprintf(stderr, "expected: param0 param1\n");
                    return 2;
                }
            }
        } else if (strchr("fblrFBLR", letter) != NULL) {
            if (fgets(line, sizeof(line), stdin) == NULL || sscanf(line, "%d %d", &p0, &p1) != 2) {
                fprintf(stderr, "expected: distance power\n");
                return 2;
            }
        } else if (strchr("scgSCG", letter) == NULL) {
            continue;
        }
        unsigned char cmd[10];
        cmd[0] = 3;
        cmd[1] = (unsigned char)letter;
        put32(cmd + 2, p0);
        put32(cmd + 6, p1);
        SSL_write(ssl, cmd, sizeof(cmd));
        if (read_record(ssl) < 0) {
            return 1;
        }
        if (letter == 'g' || letter == 'G') {
            if (read_record(ssl) < 0) {
                return 1;
            }
        }
    }

    /* As the course client: no close_notify, the socket just goes. */
    close(fd);
    return 0;
}
