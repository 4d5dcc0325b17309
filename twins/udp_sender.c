/*
 * udp_sender.c: a UDP sender, the real-machine twin of the sender in
 * Chapter 6's packet_journey example (stack/examples/packet_journey.rs).
 *
 * socket(AF_INET, SOCK_DGRAM, 0), then one sendto() per message: each call
 * makes exactly one datagram, and the receiver gets each one whole, never
 * two glued together, never one in pieces. The simulated sender connect()s
 * first and then write()s; this one names the destination in every
 * sendto(), as Chapter 6's user API shows.
 *
 *   cc -Wall -Wextra -O2 -o udp_sender udp_sender.c
 *   ./udp_sender PORT MESSAGE...
 *
 * It sends to 127.0.0.1:PORT, where udp_receiver is bound.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* Says which call failed and why (perror: "sendto: Message too long"), and
 * exits with a failure status. */
static void die(const char *call)
{
    perror(call);
    exit(EXIT_FAILURE);
}

static void usage(void)
{
    fprintf(stderr, "usage: udp_sender PORT MESSAGE...\n");
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

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    int port = (int)number(argv[1], 1, 65535);

    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in dst = {0};
    dst.sin_family = AF_INET;
    dst.sin_port = htons((unsigned short)port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 */

    for (int i = 2; i < argc; i++) {
        size_t len = strlen(argv[i]);
        /* One call, one datagram. It returns once the datagram is built and
         * handed to IP; nothing tells the sender whether anyone reads it. */
        ssize_t n = sendto(fd, argv[i], len, 0, (struct sockaddr *)&dst, sizeof dst);
        if (n < 0)
            die("sendto");
        printf("sendto() returned %zd: one datagram, handed to the kernel\n", n);
    }
    if (close(fd) < 0)
        die("close");
    return 0;
}
