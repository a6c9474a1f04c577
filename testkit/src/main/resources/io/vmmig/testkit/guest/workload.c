/*
 * vmmig test-guest workload: writes self-describing blocks to a disk and proves, on demand, that the
 * disk holds exactly the generation of every block that this guest last wrote.
 *
 * Parameters come from the kernel command line (/proc/cmdline), all optional:
 *   vmmig.dev=/dev/vda   vmmig.blocks=N (0 = whole disk)   vmmig.bs=4096 (multiple of 512)
 *   vmmig.dev2=/dev/vdb  a second disk: the area is then blocks [0, N) on dev and [N, 2N) on dev2
 *                        (block b at offset (b mod N) * bs of its disk); hot writes alternate the disks
 *   vmmig.mode=prefill,hot   phases run in order; prefill = one sequential pass (unthrottled),
 *                            seq = sequential passes forever, hot = random over the hot set forever,
 *                            random = random over the whole area forever, idle = no writes
 *   vmmig.first=F        the area starts at block F of each disk (default 0): block b lies at offset
 *                        (F + b) * bs, e.g. past a file system the guest must leave alone
 *   vmmig.hot=K   vmmig.hot_first=F   hot set = blocks [F, F+K)
 *   vmmig.rate=W  writes per second for seq/hot/random (0 = unlimited)
 *   vmmig.verify_after=S   verify once S seconds after start (0 = never)
 *   vmmig.hb_ms=20   vmmig.seed=1
 *   vmmig.fill=text    payload words from a 16-word vocabulary (compressible) instead of pseudo-random bytes
 *   vmmig.marker=TEXT   (1-32 chars) held in RAM (a 4 KiB buffer of TEXT repeated) and written into every
 *                       block (the first 64 bytes of the payload: TEXT repeated), for tests that look for
 *                       the guest's data where it must not be
 *
 * Block layout (little endian): u64 magic "VMMIGBLK", u64 block number, u64 generation, u64 checksum
 * (FNV-1a 64 over block number, generation and the payload), then a payload generated from
 * (seed, block, generation). Generation 0 means "never written by this guest": skipped by verify.
 *
 * Console protocol (one line each): see testkit/README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x4b4c4247494d4d56ULL /* "VMMIGBLK" */
#define HEADER 32
#define VERIFY_CHUNK_BLOCKS 256

static struct {
    char dev[128];
    char dev2[128];
    long blocks;
    long first;
    long bs;
    char mode[128];
    long hot;
    long hot_first;
    long rate;
    long verify_after;
    long hb_ms;
    uint64_t seed;
    char marker[33];
    int text_fill;
} cfg = {"/dev/vda", "", 0, 0, 4096, "prefill,hot", 64, 0, 0, 0, 20, 1, "", 0};

/* vmmig.fill=text: payload words from this vocabulary (compressible like text), else pseudo-random bytes */
static const char WORDS[16][9] = {"migrate ", "the disk", " while  ", "a guest ", "writes, ", "chunks  ",
                                  "go over ", "a link. ", "memory  ", "follows,", " then   ", "the pull",
                                  "ends.\n  ", "zstd or ", "deflate ", "or none "};

#define MARKER_BYTES 64
static unsigned char marker_block[MARKER_BYTES];   /* the marker repeated: goes into every block's payload */
static volatile unsigned char marker_ram[4096];    /* the marker repeated: stays in guest RAM */

static int fds[2] = {-1, -1};
static int ndevs = 1;
static long per_dev;                   /* blocks of the area on each disk */
#define FD_OF(b) fds[(b) / per_dev]
#define OFF_OF(b) ((off_t)((b) % per_dev + cfg.first) * cfg.bs)
static uint32_t *gens;                 /* latest generation written per block: lives in guest RAM */
static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;   /* held per write and for a verify */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;
static int paused;
static volatile uint64_t writes_total, bytes_total, io_errors;

static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&out_lock);
    for (int off = 0; off < n;) {
        ssize_t w = write(1, line + off, n - off);
        if (w < 0) { if (errno == EINTR) continue; break; }
        off += w;
    }
    pthread_mutex_unlock(&out_lock);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
    struct timespec ts = {(time_t)(t / 1000000000ULL), (long)(t % 1000000000ULL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
    return h;
}

static uint64_t checksum(uint64_t block, uint64_t gen, const unsigned char *payload, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv(h, (const unsigned char *)&block, 8);
    h = fnv(h, (const unsigned char *)&gen, 8);
    return fnv(h, payload, n);
}

/* Fills buf with the exact bytes block `block` holds at generation `gen`. */
static void fill_block(unsigned char *buf, uint64_t block, uint64_t gen) {
    uint64_t s = cfg.seed ^ (block * 0xD1B54A32D192ED03ULL) ^ (gen * 0x8CB92BA72F3D8DD7ULL);
    for (long off = HEADER; off < cfg.bs; off += 8) {
        uint64_t v = splitmix(&s);
        if (cfg.text_fill) memcpy(buf + off, WORDS[v & 15], 8);
        else memcpy(buf + off, &v, 8);
    }
    if (cfg.marker[0] && cfg.bs >= HEADER + MARKER_BYTES) memcpy(buf + HEADER, marker_block, MARKER_BYTES);
    uint64_t magic = MAGIC, sum = checksum(block, gen, buf + HEADER, cfg.bs - HEADER);
    memcpy(buf, &magic, 8);
    memcpy(buf + 8, &block, 8);
    memcpy(buf + 16, &gen, 8);
    memcpy(buf + 24, &sum, 8);
}

/* ---- writer ---- */

static unsigned char *wbuf;
static uint64_t rng_state;
static uint64_t next_due;

static void wait_not_paused(void) {
    pthread_mutex_lock(&pause_lock);
    while (paused) pthread_cond_wait(&pause_cond, &pause_lock);
    pthread_mutex_unlock(&pause_lock);
}

static void throttle(void) {
    if (cfg.rate <= 0) return;
    uint64_t now = now_ns();
    if (next_due == 0 || now > next_due + 1000000000ULL) next_due = now; /* no burst after a pause */
    if (now < next_due) sleep_until(next_due);
    next_due += 1000000000ULL / (uint64_t)cfg.rate;
}

static void write_block(long b) {
    wait_not_paused();
    pthread_mutex_lock(&io_lock);
    uint32_t g = gens[b] + 1;
    fill_block(wbuf, (uint64_t)b, g);
    ssize_t w = pwrite(FD_OF(b), wbuf, cfg.bs, OFF_OF(b));
    if (w == cfg.bs) {
        gens[b] = g;
        __atomic_add_fetch(&writes_total, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&bytes_total, (uint64_t)cfg.bs, __ATOMIC_RELAXED);
    } else {
        uint64_t n = __atomic_add_fetch(&io_errors, 1, __ATOMIC_RELAXED);
        if (n <= 10 || n % 1000 == 0)
            say("IOERR write block=%ld gen=%u errors=%llu %s", b, g, (unsigned long long)n,
                w < 0 ? strerror(errno) : "short write");
    }
    pthread_mutex_unlock(&io_lock);
}

static void *writer(void *arg) {
    (void)arg;
    char modes[sizeof cfg.mode];
    strcpy(modes, cfg.mode);
    char *save = NULL;
    for (char *m = strtok_r(modes, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        say("PHASE %s", m);
        if (!strcmp(m, "prefill")) {
            for (long b = 0; b < cfg.blocks; b++) write_block(b);
            say("PREFILL DONE %ld", cfg.blocks);
        } else if (!strcmp(m, "seq")) {
            for (;;) for (long b = 0; b < cfg.blocks; b++) { throttle(); write_block(b); }
        } else if (!strcmp(m, "hot")) {
            for (uint64_t k = 0;; k++) {
                throttle();
                write_block((long)(k % (uint64_t)ndevs) * per_dev + cfg.hot_first + (long)(splitmix(&rng_state) % (uint64_t)cfg.hot));
            }
        } else if (!strcmp(m, "random")) {
            for (;;) { throttle(); write_block((long)(splitmix(&rng_state) % (uint64_t)cfg.blocks)); }
        } else if (!strcmp(m, "idle")) {
            break;
        } else {
            say("VMMIG-ERROR unknown mode %s", m);
            break;
        }
    }
    say("WRITER IDLE %llu", (unsigned long long)writes_total);
    return NULL;
}

/* ---- verify ---- */

static void verify(const char *why) {
    static unsigned char *rbuf;
    if (!rbuf && posix_memalign((void **)&rbuf, 4096, VERIFY_CHUNK_BLOCKS * cfg.bs)) {
        say("VERIFY FAIL block=-1 expected-gen=-1 found=no-memory");
        return;
    }
    pthread_mutex_lock(&io_lock);  /* the writer is stopped between two writes until we finish */
    say("VERIFY START %s", why);
    unsigned char *expect = wbuf;  /* the writer is parked, its buffer is free */
    long checked = 0, unwritten = 0, failures = 0;
    long dev_checked[2] = {0, 0}, dev_failures[2] = {0, 0};
    char first[200] = "";
    for (long base = 0; base < cfg.blocks; base += VERIFY_CHUNK_BLOCKS) {
        long n = cfg.blocks - base < VERIFY_CHUNK_BLOCKS ? cfg.blocks - base : VERIFY_CHUNK_BLOCKS;
        long dev_end = (base / per_dev + 1) * per_dev;   /* one read never crosses into the next disk */
        if (base + n > dev_end) n = dev_end - base;
        int d = (int)(base / per_dev);
        ssize_t r = pread(FD_OF(base), rbuf, n * cfg.bs, OFF_OF(base));
        if (r != n * cfg.bs) {
            failures++;
            dev_failures[d]++;
            if (!first[0]) snprintf(first, sizeof first, "block=%ld expected-gen=%u found=read-error:%s",
                                    base, gens[base], r < 0 ? strerror(errno) : "short");
            continue;
        }
        for (long i = 0; i < n; i++) {
            long b = base + i;
            uint32_t g = gens[b];
            if (g == 0) { unwritten++; continue; }
            checked++;
            dev_checked[d]++;
            unsigned char *got = rbuf + i * cfg.bs;
            uint64_t magic, blk, gen, sum;
            memcpy(&magic, got, 8); memcpy(&blk, got + 8, 8); memcpy(&gen, got + 16, 8); memcpy(&sum, got + 24, 8);
            char found[120] = "";
            if (magic != MAGIC) snprintf(found, sizeof found, "bad-magic:%016llx", (unsigned long long)magic);
            else if (blk != (uint64_t)b) snprintf(found, sizeof found, "block-%llu", (unsigned long long)blk);
            else if (sum != checksum(blk, gen, got + HEADER, cfg.bs - HEADER))
                snprintf(found, sizeof found, "bad-checksum:gen-%llu", (unsigned long long)gen);
            else if (gen != g) snprintf(found, sizeof found, "gen-%llu", (unsigned long long)gen);
            else {
                fill_block(expect, (uint64_t)b, g);
                if (memcmp(expect, got, cfg.bs)) snprintf(found, sizeof found, "payload-mismatch:gen-%u", g);
            }
            if (found[0]) {
                failures++;
                dev_failures[d]++;
                if (!first[0]) snprintf(first, sizeof first, "block=%ld expected-gen=%u found=%s", b, g, found);
            }
        }
    }
    if (ndevs > 1)   /* each disk apart, before the overall line */
        for (int i = 0; i < ndevs; i++)
            say("VERIFY DISK %s %s %ld failures=%ld", i == 0 ? cfg.dev : cfg.dev2, dev_failures[i] ? "FAIL" : "OK",
                dev_checked[i], dev_failures[i]);
    if (failures)
        say("VERIFY FAIL %s failures=%ld checked=%ld", first, failures, checked);
    else
        say("VERIFY OK %ld unwritten=%ld writes=%llu ioerrors=%llu", checked, unwritten,
            (unsigned long long)writes_total, (unsigned long long)io_errors);
    pthread_mutex_unlock(&io_lock);
}

/* ---- heartbeat, timer, commands ---- */

static uint64_t start_ns;

static void *heartbeat(void *arg) {
    (void)arg;
    uint64_t period = (uint64_t)cfg.hb_ms * 1000000ULL, next = now_ns(), last_tput = next;
    uint64_t last_bytes = 0, seq = 0;
    for (;;) {
        next += period;
        sleep_until(next);
        uint64_t now = now_ns();
        if (now > next + 10 * period) next = now;  /* after a long stall, don't fire a burst */
        say("HB %llu %llu", (unsigned long long)++seq, (unsigned long long)(now / 1000000ULL));
        if (now - last_tput >= 1000000000ULL) {
            uint64_t bytes = bytes_total;
            say("TPUT %llu %llu", (unsigned long long)((bytes - last_bytes) * 1000000000ULL / (now - last_tput)),
                (unsigned long long)writes_total);
            last_bytes = bytes;
            last_tput = now;
        }
    }
    return NULL;
}

static void *verify_timer(void *arg) {
    (void)arg;
    sleep_until(start_ns + (uint64_t)cfg.verify_after * 1000000000ULL);
    verify("timer");
    return NULL;
}

static void set_paused(int p) {
    pthread_mutex_lock(&pause_lock);
    paused = p;
    pthread_cond_broadcast(&pause_cond);
    pthread_mutex_unlock(&pause_lock);
    if (p) {  /* a write in flight finishes before we report */
        pthread_mutex_lock(&io_lock);
        pthread_mutex_unlock(&io_lock);
        say("PAUSED %llu", (unsigned long long)writes_total);
    } else {
        say("RESUMED %llu", (unsigned long long)writes_total);
    }
}

static void command(char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
    while (*line == ' ' || *line == '\r') line++;
    if (!*line) return;
    if (!strcmp(line, "verify")) verify("command");
    else if (!strcmp(line, "pause")) set_paused(1);
    else if (!strcmp(line, "resume")) set_paused(0);
    else if (!strcmp(line, "stats"))
        say("STATS writes=%llu bytes=%llu ioerrors=%llu paused=%d", (unsigned long long)writes_total,
            (unsigned long long)bytes_total, (unsigned long long)io_errors, paused);
    else say("UNKNOWN-COMMAND %s", line);
}

static void read_commands(void) {
    struct termios t;
    if (tcgetattr(0, &t) == 0) {  /* no echo: the console shows only what the guest says */
        t.c_lflag &= ~(ECHO | ECHONL);
        t.c_lflag |= ICANON;
        tcsetattr(0, TCSANOW, &t);
    }
    char buf[256], line[256];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { pause(); continue; }  /* no console input: keep running forever */
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '\n') { line[len] = 0; command(line); len = 0; }
            else if (len < sizeof line - 1) line[len++] = buf[i];
        }
    }
}

/* ---- setup ---- */

static void parse_cmdline(void) {
    char text[4096] = "";
    FILE *f = fopen("/proc/cmdline", "r");
    if (f) { if (!fgets(text, sizeof text, f)) text[0] = 0; fclose(f); }
    char *save = NULL;
    for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
        if (strncmp(tok, "vmmig.", 6)) continue;
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        const char *k = tok + 6, *v = eq + 1;
        if (!strcmp(k, "dev")) snprintf(cfg.dev, sizeof cfg.dev, "%s", v);
        else if (!strcmp(k, "dev2")) snprintf(cfg.dev2, sizeof cfg.dev2, "%s", v);
        else if (!strcmp(k, "mode")) snprintf(cfg.mode, sizeof cfg.mode, "%s", v);
        else if (!strcmp(k, "blocks")) cfg.blocks = atol(v);
        else if (!strcmp(k, "bs")) cfg.bs = atol(v);
        else if (!strcmp(k, "first")) cfg.first = atol(v);
        else if (!strcmp(k, "hot")) cfg.hot = atol(v);
        else if (!strcmp(k, "hot_first")) cfg.hot_first = atol(v);
        else if (!strcmp(k, "rate")) cfg.rate = atol(v);
        else if (!strcmp(k, "verify_after")) cfg.verify_after = atol(v);
        else if (!strcmp(k, "hb_ms")) cfg.hb_ms = atol(v);
        else if (!strcmp(k, "seed")) cfg.seed = strtoull(v, NULL, 0);
        else if (!strcmp(k, "marker")) snprintf(cfg.marker, sizeof cfg.marker, "%s", v);
        else if (!strcmp(k, "fill")) cfg.text_fill = !strcmp(v, "text");
        else say("VMMIG-ERROR unknown parameter vmmig.%s", k);
    }
}

static int fail(const char *what) {
    say("VMMIG-ERROR %s: %s", what, strerror(errno));
    return 1;
}

int main(void) {
    start_ns = now_ns();
    parse_cmdline();
    if (cfg.bs < 512 || cfg.bs % 512 || cfg.hb_ms <= 0) { errno = EINVAL; return fail("vmmig.bs/hb_ms"); }
    fds[0] = open(cfg.dev, O_RDWR | O_DIRECT);
    if (fds[0] < 0) return fail(cfg.dev);
    uint64_t size = 0;
    if (ioctl(fds[0], BLKGETSIZE64, &size) < 0) return fail("BLKGETSIZE64");
    if (cfg.dev2[0]) {
        uint64_t size2 = 0;
        fds[1] = open(cfg.dev2, O_RDWR | O_DIRECT);
        if (fds[1] < 0) return fail(cfg.dev2);
        if (ioctl(fds[1], BLKGETSIZE64, &size2) < 0) return fail("BLKGETSIZE64");
        if (size2 < size) size = size2;   /* the area is the same on both */
        ndevs = 2;
    }
    if (cfg.first < 0 || (uint64_t)cfg.first * (uint64_t)cfg.bs >= size) {
        say("VMMIG-ERROR vmmig.first=%ld is not a block of %s (%llu bytes)", cfg.first, cfg.dev, (unsigned long long)size);
        return 1;
    }
    if (cfg.blocks == 0) cfg.blocks = (long)(size / (uint64_t)cfg.bs) - cfg.first;
    if ((uint64_t)(cfg.first + cfg.blocks) * (uint64_t)cfg.bs > size || cfg.blocks <= 0) {
        say("VMMIG-ERROR area of %ld blocks of %ld bytes from block %ld does not fit %s (%llu bytes)", cfg.blocks, cfg.bs,
            cfg.first, cfg.dev, (unsigned long long)size);
        return 1;
    }
    if (cfg.hot <= 0 || cfg.hot_first < 0 || cfg.hot_first + cfg.hot > cfg.blocks) {
        cfg.hot_first = 0;
        cfg.hot = cfg.blocks < 64 ? cfg.blocks : 64;
    }
    per_dev = cfg.blocks;          /* from here on cfg.blocks is the whole area, over every disk */
    cfg.blocks = per_dev * ndevs;
    gens = calloc((size_t)cfg.blocks, sizeof *gens);
    if (!gens || posix_memalign((void **)&wbuf, 4096, cfg.bs)) { errno = ENOMEM; return fail("memory"); }
    rng_state = cfg.seed * 0x2545F4914F6CDD1DULL + 1;
    size_t ml = strlen(cfg.marker);
    if (ml) {
        for (size_t i = 0; i < MARKER_BYTES; i++) marker_block[i] = (unsigned char)cfg.marker[i % ml];
        for (size_t i = 0; i < sizeof marker_ram; i++) marker_ram[i] = (unsigned char)cfg.marker[i % ml];
    }
    pthread_t t;
    pthread_create(&t, NULL, heartbeat, NULL);
    say("VMMIG-READY blocks=%ld bs=%ld mode=%s hot=%ld hot_first=%ld rate=%ld dev=%s%s%s", cfg.blocks, cfg.bs,
        cfg.mode, cfg.hot, cfg.hot_first, cfg.rate, cfg.dev, ndevs > 1 ? "," : "", ndevs > 1 ? cfg.dev2 : "");
    pthread_create(&t, NULL, writer, NULL);
    if (cfg.verify_after > 0) pthread_create(&t, NULL, verify_timer, NULL);
    read_commands();
    return 0;
}
