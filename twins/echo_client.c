/*
 * echo_client.c: a TCP echo client, the real-machine twin of the client in
 * Chapter 1's tcp_handshake example (stack/examples/tcp_handshake.rs).
 *
 * The same steps: socket(), connect() (which sleeps through SYN, SYN-ACK,
 * ACK), write() the message, read() the echo, close(). Like the writer of
 * Chapter 2's send_is_not_delivery, it prints what write() returned: the
 * number of bytes copied into the send queue, not delivered anywhere yet.
 *
 *   cc -Wall -Wextra -O2 -o echo_client echo_client.c
 *   ./echo_client PORT MESSAGE
 *
 * It connects to 127.0.0.1:PORT, where echo_server or epoll_server listens.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* Says which call failed and why (perror: "connect: Connection refused"),
 * and exits with a failure status. */
static void die(const char *call)
{
    perror(call);
    exit(EXIT_FAILURE);
}

static void usage(void)
{
    fprintf(stderr, "usage: echo_client PORT MESSAGE\n");
    exit(2);
}

/* A whole decimal number from lo to hi, or the usage message. */
static long number(const char *s, long lo, long hi)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || n < lo || n > hi)
        usage();
    return n;
}

/* Prints n bytes as a quoted string, with escapes for what a terminal
 * would not show, as the simulated examples do. */
static void print_quoted(const char *buf, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            printf("\\n");
        else if (c == '\r')
            printf("\\r");
        else if (c == '\t')
            printf("\\t");
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* "127.0.0.1:41234" for an IPv4 socket address. */
static void print_addr(const struct sockaddr_in *a)
{
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip) == NULL)
        die("inet_ntop");
    printf("%s:%d", ip, ntohs(a->sin_port));
}

int main(int argc, char **argv)
{
    if (argc != 3 || argv[2][0] == '\0')
        usage();
    int port = (int)number(argv[1], 1, 65535);
    const char *msg = argv[2];
    size_t len = strlen(msg);

    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* EPIPE from write(), not a silent death */
        die("signal");

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in server = {0};
    server.sin_family = AF_INET;
    server.sin_port = htons((unsigned short)port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 */
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) /* SYN, SYN-ACK, ACK */
        die("connect");

    /* connect() chose the local address and an ephemeral port. */
    struct sockaddr_in local, peer;
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&local, &local_len) < 0)
        die("getsockname");
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) < 0)
        die("getpeername");
    printf("connect() returned: ");
    print_addr(&local);
    printf(" -> ");
    print_addr(&peer);
    putchar('\n');

    for (size_t sent = 0; sent < len;) {
        ssize_t n = write(fd, msg + sent, len - sent);
        if (n < 0)
            die("write");
        printf("write() -> %zd\n", n);
        sent += (size_t)n;
    }

    /* A stream keeps no message boundaries (Chapter 2): the echo may come
     * back in several pieces, so read until all of it is here. */
    char buf[4096];
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0)
            die("read");
        if (n == 0) {
            fprintf(stderr, "read: end of stream after %zu of %zu bytes\n", got, len);
            exit(EXIT_FAILURE);
        }
        printf("read %zd bytes: ", n);
        print_quoted(buf, (size_t)n);
        putchar('\n');
        got += (size_t)n;
    }
    if (close(fd) < 0)
        die("close");
    return 0;
}
