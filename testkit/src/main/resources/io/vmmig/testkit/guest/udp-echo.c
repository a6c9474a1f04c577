/* vmmig test guest: UDP echo on the port given (the outside probe's answerer). Each datagram goes back to
 * its sender unchanged; nothing else. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("VMMIG-ERROR udp-echo socket"); return 1; }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short) port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0) { perror("VMMIG-ERROR udp-echo bind"); return 1; }
    printf("VMMIG-NET udp-echo on %d\n", port);
    fflush(stdout);
    char buf[2048];
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &len);
        if (n < 0) continue;
        sendto(fd, buf, (size_t) n, 0, (struct sockaddr *) &from, len);
    }
}
