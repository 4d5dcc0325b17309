/*
 * epoll_server.c: an epoll echo server, the real-machine twin of the epoll
 * loop in Chapter 8's select_vs_epoll example
 * (stack/examples/select_vs_epoll.rs, with_epoll).
 *
 * The same steps: epoll_create1(0), EPOLL_CTL_ADD with EPOLLIN and the fd
 * as the user data, then a level-triggered loop of epoll_wait(ep, events,
 * 64, -1) serving each ready fd. The simulated server accepts all its
 * connections first; this one also watches its listening socket, so one
 * thread accepts new clients and serves the connected ones at the same
 * time. The listener is non-blocking: if a connection goes away between
 * epoll_wait() and accept(), accept() fails with EAGAIN instead of sleeping
 * and stalling every other client.
 *
 *   cc -Wall -Wextra -O2 -o epoll_server epoll_server.c
 *   ./epoll_server PORT [CLIENTS]
 *
 * PORT 0 lets the kernel choose a free port; the server prints the one it
 * got. It exits when CLIENTS connections (3 by default) have come and gone.
 * It listens on 127.0.0.1 only. Try it with several echo_clients at once.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
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
    fprintf(stderr, "usage: epoll_server PORT [CLIENTS]   (PORT 0: any free port)\n");
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

/* write() until all n bytes are in the socket's send queue. */
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

/* Registers fd in the interest list, for reading, level-triggered (no
 * EPOLLET): epoll_wait() reports it for as long as it stays readable. */
static void watch(int ep, int fd)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLIN;
    ev.data.fd = fd; /* handed back untouched by epoll_wait() */
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl");
}

/* The listener is readable: a connection is in its accept queue. */
static void accept_one(int ep, int lfd)
{
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    int fd = accept(lfd, (struct sockaddr *)&peer, &peer_len);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
            return; /* gone already; the next epoll_wait() goes on */
        die("accept");
    }
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip) == NULL)
        die("inet_ntop");
    printf("accept() -> fd %d, peer %s:%d\n", fd, ip, ntohs(peer.sin_port));
    /* The new socket is blocking (accept() does not pass O_NONBLOCK on,
     * Chapter 2). That is enough here: epoll said it is readable, so one
     * read() does not sleep, and a short echo fits in its send buffer. */
    watch(ep, fd);
}

/* A connection is readable: echo one read()'s worth, or close it at the
 * end of the stream. Level-triggered, what this read leaves behind is
 * reported again by the next epoll_wait(). Returns 1 if it closed. */
static int serve(int ep, int fd)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno != ECONNRESET)
        die("read");
    if (n <= 0) {
        printf("fd %d: read() -> %s, closing\n", fd, n == 0 ? "0" : "ECONNRESET");
        /* close() alone would remove the item too, since no other fd shares
         * this file; deleting first is the safe habit (Chapter 8). */
        if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0)
            die("epoll_ctl");
        if (close(fd) < 0)
            die("close");
        return 1;
    }
    printf("fd %d: read %zd bytes: ", fd, n);
    print_quoted(buf, (size_t)n);
    putchar('\n');
    write_all(fd, buf, (size_t)n); /* the echo */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        usage();
    int port = (int)number(argv[1], 0, 65535);
    long clients = argc == 3 ? number(argv[2], 1, 1000000) : 3;

    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* EPIPE from write(), not a silent death */
        die("signal");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
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
    socklen_t len = sizeof addr;
    if (getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) /* the port bind() chose */
        die("getsockname");
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));

    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    watch(ep, lfd);

    long closed = 0;
    struct epoll_event events[64];
    while (closed < clients) {
        int n = epoll_wait(ep, events, 64, -1); /* sleeps until something is ready */
        if (n < 0)
            die("epoll_wait");
        printf("epoll_wait() -> %d ready\n", n);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd)
                accept_one(ep, lfd);
            else
                closed += serve(ep, fd);
        }
    }
    printf("served %ld clients; exiting\n", closed);
    if (close(ep) < 0)
        die("close");
    if (close(lfd) < 0)
        die("close");
    return 0;
}
