/*
 * udp_receiver.c: a UDP receiver, the real-machine twin of the receiver in
 * Chapter 6's packet_journey example (stack/examples/packet_journey.rs).
 *
 * The same steps: socket(AF_INET, SOCK_DGRAM, 0), bind(), then one call
 * per datagram. No listen(), no accept(), no connection. Each recvfrom()
 * returns exactly one datagram, whole, with the boundaries the sender gave
 * it, and says where it came from.
 *
 *   cc -Wall -Wextra -O2 -o udp_receiver udp_receiver.c
 *   ./udp_receiver PORT [COUNT]
 *
 * PORT 0 lets the kernel choose a free port; the receiver prints the one it
 * got. It receives COUNT datagrams (2 by default, as the simulated one
 * does), then exits. It is bound to 127.0.0.1 only.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
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
    fprintf(stderr, "usage: udp_receiver PORT [COUNT]   (PORT 0: any free port)\n");
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

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        usage();
    int port = (int)number(argv[1], 0, 65535);
    long count = argc == 3 ? number(argv[2], 1, 1000000) : 2;

    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 */
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("bind");
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0) /* the port bind() chose */
        die("getsockname");
    printf("bound to 127.0.0.1:%d\n", ntohs(addr.sin_port));

    char buf[2048];
    for (long i = 0; i < count; i++) {
        struct sockaddr_in src;
        socklen_t src_len = sizeof src;
        /* Sleeps until a datagram is queued, then takes exactly one. With
         * MSG_TRUNC, Linux returns the datagram's real length even when it
         * was longer than buf and the rest was cut off (Chapter 6). */
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&src, &src_len);
        if (n < 0)
            die("recvfrom");
        size_t copied = (size_t)n < sizeof buf ? (size_t)n : sizeof buf;
        char ip[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &src.sin_addr, ip, sizeof ip) == NULL)
            die("inet_ntop");
        printf("recvfrom() returned %zd bytes from %s:%d: ", n, ip, ntohs(src.sin_port));
        print_quoted(buf, copied);
        if (copied < (size_t)n)
            printf(" (cut to the %zu bytes of the buffer; the rest is lost)", copied);
        putchar('\n');
    }
    if (close(fd) < 0)
        die("close");
    return 0;
}
