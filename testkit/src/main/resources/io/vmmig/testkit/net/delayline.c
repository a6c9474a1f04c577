/*
 * vmmig lab delay line: a packet-level propagation delay between two TUN devices in two network
 * namespaces. Every IP packet read from one TUN is written to the other one-way-delay later, in order,
 * so the TCP stacks on both sides see the round trip (slow start, cwnd growth, ACK clocking) as on a WAN.
 * Rate is not shaped here: tbf on each TUN's egress does that before the packet reaches us (serialisation,
 * then propagation, like a real link).
 *
 *   delayline NETNS_A TUN_A NETNS_B TUN_B ONE_WAY_DELAY_US QUEUE_BYTES
 *
 * NETNS_* are namespace files (/run/netns/NAME); the TUN devices exist already (ip tuntap add ... mode tun).
 * Prints "READY" (then " realtime" if it got SCHED_FIFO) on stdout once both are attached. stdin: "stats" answers one line
 * "STATS a2b_packets a2b_bytes a2b_dropped b2a_packets b2a_bytes b2a_dropped max_late_us"; EOF ends the
 * program (the parent died or closed it). A packet that would exceed QUEUE_BYTES held in one direction is
 * dropped and counted (a link's buffer overflowing), never reordered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKET 65536

struct packet {
    struct packet *next;
    int64_t due_ns;
    int len;
    unsigned char data[];
};

struct direction {
    int in, out;
    struct packet *head, *tail;
    int64_t queued_bytes;
    uint64_t packets, bytes, dropped;
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, const char *arg) {
    fprintf(stderr, "delayline: %s %s: %s\n", what, arg, strerror(errno));
    exit(1);
}

static int attach(const char *netns, const char *name) {
    int ns = open(netns, O_RDONLY | O_CLOEXEC);
    if (ns < 0) die("cannot open namespace", netns);
    if (setns(ns, CLONE_NEWNET) < 0) die("cannot enter namespace", netns);
    close(ns);
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) die("cannot open", "/dev/net/tun");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("cannot attach to tun device", name);
    return fd;
}

static int64_t one_way_ns;
static int64_t queue_limit;
static int64_t max_late_ns;
static unsigned char buf[MAX_PACKET];

/*
 * Reads the packets waiting on d->in (at most TAKE_BATCH, so a busy direction cannot hold back the other's
 * releases) and queues each for its arrival time + delay.
 */
#define TAKE_BATCH 64
static void take(struct direction *d) {
    for (int i = 0; i < TAKE_BATCH; i++) {
        ssize_t n = read(d->in, buf, sizeof buf);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            die("read from tun", "");
        }
        if (n == 0) return;
        if (d->queued_bytes + n > queue_limit) {
            d->dropped++;
            continue;
        }
        struct packet *p = malloc(sizeof *p + n);
        if (!p) die("out of memory", "");
        p->next = NULL;
        p->len = (int) n;
        p->due_ns = now_ns() + one_way_ns;
        memcpy(p->data, buf, n);
        if (d->tail) d->tail->next = p; else d->head = p;
        d->tail = p;
        d->queued_bytes += n;
    }
}

/* Writes every due packet to d->out; returns the due time of the next one, or -1. */
static int64_t release(struct direction *d, int64_t now) {
    while (d->head && d->head->due_ns <= now) {
        struct packet *p = d->head;
        ssize_t w = write(d->out, p->data, p->len);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) return now + 100000; /* retry in 0.1 ms, keeping order */
        if (w < 0 && errno != EIO) die("write to tun", "");
        if (w < 0) d->dropped++;        /* EIO: the device is down */
        else { d->packets++; d->bytes += p->len; }
        if (now - p->due_ns > max_late_ns) max_late_ns = now - p->due_ns;
        d->head = p->next;
        if (!d->head) d->tail = NULL;
        d->queued_bytes -= p->len;
        free(p);
    }
    return d->head ? d->head->due_ns : -1;
}

static void command(struct direction *ab, struct direction *ba) {
    char line[256];
    ssize_t n = read(0, line, sizeof line - 1);
    if (n <= 0) exit(0);                /* EOF: the parent is gone or closed us */
    line[n] = 0;
    if (strncmp(line, "stats", 5) == 0) {
        printf("STATS %llu %llu %llu %llu %llu %llu %lld\n", (unsigned long long) ab->packets,
               (unsigned long long) ab->bytes, (unsigned long long) ab->dropped, (unsigned long long) ba->packets,
               (unsigned long long) ba->bytes, (unsigned long long) ba->dropped, (long long) (max_late_ns / 1000));
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: delayline NETNS_A TUN_A NETNS_B TUN_B ONE_WAY_DELAY_US QUEUE_BYTES\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /*
     * A link's propagation delay does not grow with the host's load: run ahead of ordinary processes
     * (lowest real-time priority) when allowed. It only wakes per packet or per release, so it never
     * spins; without the privilege it runs as a normal process (later releases, counted in max_late).
     */
    struct sched_param rt = { .sched_priority = 1 };
    int realtime = sched_setscheduler(0, SCHED_FIFO, &rt) == 0;
    one_way_ns = atoll(argv[5]) * 1000LL;
    queue_limit = atoll(argv[6]);
    int a = attach(argv[1], argv[2]);
    int b = attach(argv[3], argv[4]);
    struct direction ab = { .in = a, .out = b }, ba = { .in = b, .out = a };
    printf("READY%s\n", realtime ? " realtime" : "");
    fflush(stdout);
    struct pollfd fds[3] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
    for (;;) {
        int64_t now = now_ns();
        int64_t n1 = release(&ab, now), n2 = release(&ba, now);
        int64_t next = n1 < 0 ? n2 : n2 < 0 ? n1 : (n1 < n2 ? n1 : n2);
        struct timespec timeout, *tp = NULL;
        if (next >= 0) {
            int64_t wait = next - now_ns();
            if (wait < 0) wait = 0;
            timeout.tv_sec = wait / 1000000000LL;
            timeout.tv_nsec = wait % 1000000000LL;
            tp = &timeout;
        }
        if (ppoll(fds, 3, tp, NULL) < 0 && errno != EINTR) die("poll", "");
        if (fds[0].revents & POLLIN) take(&ab);
        if (fds[1].revents & POLLIN) take(&ba);
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) command(&ab, &ba);
        if ((fds[0].revents | fds[1].revents) & (POLLERR | POLLNVAL)) { fprintf(stderr, "delayline: tun error\n"); return 1; }
    }
}
