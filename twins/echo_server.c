/*
 * echo_server.c: a TCP echo server, the real-machine twin of the server in
 * Chapter 1's tcp_handshake example (stack/examples/tcp_handshake.rs).
 *
 * The same steps: socket(), bind(), listen(), accept() (which sleeps until
 * the kernel has completed a handshake), then read() and write() until
 * read() returns 0 because the client closed its side, then close(). Where
 * the simulated server answers with a fixed reply, this one echoes what it
 * read.
 *
 *   cc -Wall -Wextra -O2 -o echo_server echo_server.c
 *   ./echo_server PORT [CLIENTS]
 *
 * PORT 0 lets the kernel choose a free port; the server prints the one it
 * got. It serves CLIENTS connections (1 by default), one after the other,
 * then exits. It listens on 127.0.0.1 only: nothing outside this machine
 * can reach it.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* Says which call failed and why (perror: "bind: Address already in use"),
 * and exits with a failure status. */
static void die(const char *call)
{
    perror(call);
    exit(EXIT_FAILURE);
}

static void usage(void)
{
    fprintf(stderr, "usage: echo_server PORT [CLIENTS]   (PORT 0: any free port)\n");
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

/* write() until all n bytes are in the socket's send queue. A blocking
 * write() on TCP normally copies everything at once; the loop is for the
 * times it returns less. */
static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0)
            die("write");
        buf += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        usage();
    int port = (int)number(argv[1], 0, 65535);
    long clients = argc == 3 ? number(argv[2], 1, 1000000) : 1;

    /* Each line out at once, even when stdout is a pipe (the tests read it). */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Writing to a connection the peer has reset raises SIGPIPE, which kills
     * the process silently (Chapter 2). Ignored, write() fails with EPIPE,
     * and die() says so. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal");

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        die("socket");
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 */
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("bind");
    if (listen(lfd, 128) < 0)
        die("listen");
    /* With port 0, bind() chose the port: ask the socket which. */
    socklen_t len = sizeof addr;
    if (getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
        die("getsockname");
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));

    for (long served = 0; served < clients; served++) {
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept(lfd, (struct sockaddr *)&peer, &peer_len); /* sleeps until the handshake completes */
        if (fd < 0)
            die("accept");
        char ip[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip) == NULL)
            die("inet_ntop");
        printf("accept() -> fd %d, peer %s:%d\n", fd, ip, ntohs(peer.sin_port));

        char buf[4096];
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf); /* sleeps until bytes or the FIN arrive */
            if (n < 0)
                die("read");
            if (n == 0) {
                printf("read() -> 0: the client closed its side\n");
                break;
            }
            printf("read %zd bytes: ", n);
            print_quoted(buf, (size_t)n);
            putchar('\n');
            write_all(fd, buf, (size_t)n); /* the echo */
        }
        if (close(fd) < 0)
            die("close");
    }
    if (close(lfd) < 0)
        die("close");
    return 0;
}
