/*
 * latency_probe: the receiving side of the fan-out scenario's latency phase.
 *
 * N WebSocket clients in one epoll loop, so that the clients' own CPU cost (about 10 us per
 * delivery in the Python generator) does not set the latency spread. libc + Linux only.
 *
 *   latency_probe HOST PORT PROTOCOL N SAMPLE_EVERY T0_NS
 *
 * HOST is an IPv4 address (on loopback each client binds its own 127.0.b.c source address, as
 * the Python dialer does). PROTOCOL is tocsin, socketio or plain. Client k records latencies
 * when k % SAMPLE_EVERY == 0 (0: none). Latency = CLOCK_MONOTONIC - T0_NS - t, so T0_NS must
 * be the generator's bench.clients._T0 (Python's time.monotonic_ns() is CLOCK_MONOTONIC).
 *
 * stdin (a pipe): first N lines "PATH<TAB>TOKEN" (the token is for tocsin only), then commands:
 *   expect FIRST COUNT  every client must now receive i = FIRST .. FIRST+COUNT-1; answers
 *                       "armed", then one JSON line once all have them (or on "report")
 *   report              print the JSON line now, with what arrived so far (if still armed)
 *   quit                close everything and exit 0 (exit 1 with an "error" line if not ready)
 * stdout: "ready" once all N clients finished their handshake, "armed", JSON lines, or one
 * "error ..." line and exit 1 when a handshake fails (HTTP status, close code, refusal).
 * A message counts when its text holds "i":<int> and "t":<int> (tocsin: only texts with
 * "type":"notification"; socketio: only "42" event packets). No JSON parser: byte search.
 * Fragmented messages are not supported: a client receiving one counts as closed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* Linux: choose the port at connect(), per 4-tuple */
#endif
#define MAX_INFLIGHT 256      /* handshakes under way at once, like the Python dialer */
#define MAX_EVENTS 4096
#define MAX_FRAME (16u << 20) /* a larger server frame is a protocol error */
#define MAX_SEND 16384        /* our own frames: auth (token <= 8 KB), pong, "40", "3" */
#define STDIN_TAG UINT32_MAX
#define N_SOURCES (3 * 248)   /* 127.0.{1..3}.{2..249}, as bench.clients.SOURCE_IPS */

enum proto { TOCSIN, SOCKETIO, PLAIN };
enum state { CONNECTING, UPGRADING, HANDSHAKE, READY, CLOSED };

struct conn {
    int fd;
    enum state st;
    int sampled;          /* records latencies */
    int done;             /* has every i of the armed measurement */
    long long next_i;     /* next i expected in the armed measurement */
    char *path, *token;
    unsigned char *buf;   /* bytes read but not parsed yet (at most a partial frame) */
    size_t len, cap;
};

static struct conn *conns;
static int n_conns, n_started, n_inflight, n_ready, n_closed;
static enum proto proto;
static const char *host;
static int port, loopback, epfd;
static unsigned source;   /* next source address (loopback) */
static struct sockaddr_in server;
static long long t0;      /* the generator's clock origin (bench.clients._T0) */
static uint64_t rng;
static char inbuf[65536]; /* stdin not consumed yet */
static size_t inlen;

static struct {           /* the armed measurement */
    int armed;
    long long first, last, received, gaps, dups, malformed;
    int settled;          /* clients done, or closed before being done */
    long long *lat;
    size_t n_lat, cap_lat;
} m;

static void out(const char *s, size_t n) { /* all of it to stdout, or give up */
    while (n > 0) {
        ssize_t w = write(1, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) exit(3);
        s += w, n -= (size_t)w;
    }
}

static void fail(const char *fmt, ...) { /* one "error ..." line on stdout, then exit 1 */
    char line[600] = "error ";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + 6, sizeof line - 8, fmt, ap);
    va_end(ap);
    for (char *p = line; *p; p++) /* server text may hold newlines: keep it one line */
        if ((unsigned char)*p < 32) *p = ' ';
    strcat(line, "\n");
    out(line, strlen(line));
    exit(1);
}

static uint64_t next_rand(void) { /* xorshift64: mask keys, Sec-WebSocket-Key */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static long long now_ns(void) { /* the generator's now_ns() */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - t0;
}

static void watch(int fd, int op, uint32_t events, uint32_t tag) {
    struct epoll_event ev = {.events = events, .data.u32 = tag};
    if (epoll_ctl(epfd, op, fd, &ev) < 0) fail("epoll_ctl(%d): %s", fd, strerror(errno));
}

/* A client frame: FIN set, masked with a fresh key (RFC 6455 section 5.3). Our writes are
 * tiny and rare (upgrade, auth, pongs), so a short write counts as a failure. */
static int send_frame(struct conn *c, int op, const void *data, size_t n) {
    unsigned char f[MAX_SEND + 8], *mask;
    size_t h = 0;
    uint32_t key = (uint32_t)next_rand();
    if (n > MAX_SEND) return -1;
    f[h++] = (unsigned char)(0x80 | op);
    if (n < 126) {
        f[h++] = (unsigned char)(0x80 | n);
    } else { /* 16-bit length */
        f[h++] = 0x80 | 126, f[h++] = (unsigned char)(n >> 8), f[h++] = (unsigned char)n;
    }
    memcpy(mask = f + h, &key, 4);
    h += 4;
    for (size_t k = 0; k < n; k++) f[h + k] = ((const unsigned char *)data)[k] ^ mask[k & 3];
    return send(c->fd, f, h + n, MSG_NOSIGNAL) == (ssize_t)(h + n) ? 0 : -1;
}

static void send_text(struct conn *c, int k, const char *text) {
    if (send_frame(c, 0x1, text, strlen(text)) < 0)
        fail("client %d: could not send %.20s", k, text);
}

/* The measurement's JSON line; then nothing is armed and the samples are dropped. */
static size_t frame_bytes; /* payload size of the last counted message */

static void report(void) {
    size_t cap = 256 + m.n_lat * 22, len;
    char *s = malloc(cap);
    int short_clients = 0;
    long long expected = m.armed ? (long long)n_conns * (m.last - m.first + 1) : 0;
    if (!s) fail("out of memory");
    for (int k = 0; m.armed && k < n_conns; k++) short_clients += !conns[k].done;
    len = (size_t)snprintf(s, cap,
        "{\"received\":%lld,\"expected\":%lld,\"gaps\":%lld,\"duplicates\":%lld,"
        "\"short_clients\":%d,\"closed\":%d,\"malformed\":%lld,\"frame_bytes\":%zu,"
        "\"latencies_ns\":[",
        m.received, expected, m.gaps, m.dups, short_clients, n_closed, m.malformed, frame_bytes);
    for (size_t j = 0; j < m.n_lat; j++)
        len += (size_t)snprintf(s + len, cap - len, j ? ",%lld" : "%lld", m.lat[j]);
    len += (size_t)snprintf(s + len, cap - len, "]}\n");
    out(s, len);
    free(s);
    m.armed = 0, m.n_lat = 0;
}

static void arm(long long first, long long count) {
    m.armed = 1, m.first = first, m.last = first + count - 1;
    m.received = m.gaps = m.dups = m.malformed = 0, m.n_lat = 0, m.settled = 0;
    for (int k = 0; k < n_conns; k++) {
        conns[k].next_i = first;
        conns[k].done = count <= 0;
        m.settled += conns[k].done || conns[k].st == CLOSED;
    }
    out("armed\n", 6);
    if (m.settled == n_conns) report();
}

/* The integer after `key` (4 bytes, e.g. "i":), JSON whitespace allowed after the colon. */
static int find_int(const unsigned char *p, size_t n, const char *key, long long *value) {
    const unsigned char *q = memmem(p, n, key, 4), *end = p + n;
    long long x = 0;
    int neg;
    if (!q) return 0;
    for (q += 4; q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'); q++) {}
    neg = q < end && *q == '-';
    q += neg;
    if (q >= end || *q < '0' || *q > '9') return 0;
    while (q < end && *q >= '0' && *q <= '9') x = x * 10 + (*q++ - '0');
    *value = neg ? -x : x;
    return 1;
}

/* A counted message: check its i against the client's stream, sample its latency. */
static void deliver(struct conn *c, const unsigned char *p, size_t n) {
    long long i, t;
    if (!find_int(p, n, "\"i\":", &i) || !find_int(p, n, "\"t\":", &t)) { m.malformed++; return; }
    if (!m.armed) return;
    frame_bytes = n;
    if (i < c->next_i) { m.dups++; return; } /* so is anything once the client is done */
    if (i > m.last) return; /* beyond this measurement */
    if (i > c->next_i) m.gaps += i - c->next_i;
    c->next_i = i + 1;
    m.received++;
    if (c->sampled) {
        if (m.n_lat == m.cap_lat) {
            m.cap_lat = m.cap_lat ? 2 * m.cap_lat : 4096;
            if (!(m.lat = realloc(m.lat, m.cap_lat * sizeof *m.lat))) fail("out of memory");
        }
        m.lat[m.n_lat++] = now_ns() - t;
    }
    if (i == m.last) {
        c->done = 1;
        if (++m.settled == n_conns) report();
    }
}

static void start_next(void);

static void became_ready(struct conn *c) {
    c->st = READY, n_inflight--;
    if (++n_ready == n_conns) out("ready\n", 6);
    start_next();
}

/* The server closed a client or the connection broke: fatal before the client is ready. */
static void lost(struct conn *c, int k, const char *why, int code) {
    static int notes;
    if (c->st != READY)
        fail("client %d: %s (close code %d) during the %s", k, why, code,
             c->st == UPGRADING ? "WebSocket upgrade" : "protocol handshake");
    close(c->fd), c->st = CLOSED, n_closed++;
    if (notes++ < 5) /* the JSON counts them all */
        fprintf(stderr, "latency_probe: client %d: %s (close code %d)\n", k, why, code);
    if (m.armed && !c->done && ++m.settled == n_conns) report();
}

/* One complete text message, by protocol: handshake steps, pings, counted messages. */
static void on_message(struct conn *c, int k, const unsigned char *p, size_t n) {
    if (n == 0) return;
    if (proto == SOCKETIO) { /* Engine.IO packet type, then Socket.IO packet type */
        if (n >= 2 && p[0] == '4' && p[1] == '2') {
            if (c->st == READY) deliver(c, p, n);
        } else if (n == 1 && p[0] == '2') {
            send_text(c, k, "3"); /* Engine.IO ping -> pong */
        } else if (c->st == HANDSHAKE && p[0] == '0') {
            send_text(c, k, "40"); /* open -> connect to the default namespace */
        } else if (c->st == HANDSHAKE && n >= 2 && p[0] == '4' && p[1] == '0') {
            became_ready(c);
        } else if (c->st == HANDSHAKE && n >= 2 && p[0] == '4' && p[1] == '4') {
            fail("client %d: Socket.IO refused the connection: %.*s", k, (int)(n < 300 ? n : 300),
                 p);
        }
    } else if (proto == TOCSIN) {
        if (memmem(p, n, "\"type\":\"notification\"", 21)) {
            if (c->st == READY) deliver(c, p, n);
        } else if (c->st == HANDSHAKE && memmem(p, n, "\"type\":\"ready\"", 14)) {
            became_ready(c);
        } else if (c->st == HANDSHAKE && memmem(p, n, "\"type\":\"error\"", 14)) {
            fail("client %d: Tocsin refused the auth: %.*s", k, (int)(n < 300 ? n : 300), p);
        } /* ping, state, ...: not counted */
    } else if (c->st == READY) {
        deliver(c, p, n);
    }
}

static void on_frame(struct conn *c, int k, int fin, int op, const unsigned char *p, size_t n) {
    switch (op) {
    case 0x9: /* ping: a pong with the same payload */
        if (send_frame(c, 0xA, p, n) < 0) lost(c, k, "pong could not be sent", 0);
        break;
    case 0xA: break;
    case 0x8: lost(c, k, "closed by the server", n >= 2 ? p[0] << 8 | p[1] : 1005); break;
    case 0x1: /* text */
    case 0x2: /* binary: not counted */
        if (!fin) lost(c, k, "fragmented message (not supported)", 1003);
        else if (op == 0x1) on_message(c, k, p, n);
        break;
    case 0x0: lost(c, k, "fragmented message (not supported)", 1003); break;
    default:
        lost(c, k, "unknown frame opcode", op);
    }
}

/* Every complete frame in the buffer (16-bit and 64-bit lengths); a partial one stays. */
static void parse_frames(struct conn *c, int k) {
    size_t pos = 0;
    while (c->st != CLOSED) {
        const unsigned char *p = c->buf + pos;
        size_t avail = c->len - pos, h = 2;
        uint64_t n;
        if (avail < 2) break;
        if (p[1] & 0x80) { lost(c, k, "masked server frame", 1002); break; }
        n = p[1] & 0x7f;
        if (n == 126) { /* 16-bit length */
            if ((h = 4) > avail) break;
            n = (uint64_t)p[2] << 8 | p[3];
        } else if (n == 127) { /* 64-bit length */
            if ((h = 10) > avail) break;
            n = 0;
            for (int b = 2; b < 10; b++) n = n << 8 | p[b];
        }
        if (n > MAX_FRAME) { lost(c, k, "frame too large", 1009); break; }
        if (avail < h + n) break;
        pos += h + n;
        on_frame(c, k, p[0] & 0x80, p[0] & 0x0f, p + h, (size_t)n);
    }
    if (c->st == CLOSED) return;
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
}

/* The HTTP answer to the upgrade: 101, and whatever follows it is already frames. */
static int upgraded(struct conn *c, int k) {
    unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    size_t head;
    if (!end) return 0;
    if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0)
        fail("client %d: GET %s answered %.*s", k, c->path, (int)(c->len < 300 ? c->len : 300),
             c->buf);
    head = (size_t)(end + 4 - c->buf);
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    c->st = HANDSHAKE;
    if (proto == PLAIN) {
        became_ready(c);
    } else if (proto == TOCSIN) {
        char auth[MAX_SEND];
        int n = snprintf(auth, sizeof auth, "{\"type\":\"auth\",\"token\":\"%s\"}", c->token);
        if (n >= (int)sizeof auth) fail("client %d: token too long", k);
        send_text(c, k, auth);
    } /* socketio: the server speaks first (its open packet) */
    return 1;
}

static void on_readable(struct conn *c, int k) {
    ssize_t r;
    if (c->len == c->cap) { /* a frame larger than the buffer: grow it */
        c->cap *= 2;
        if (c->cap > MAX_FRAME + 64 || !(c->buf = realloc(c->buf, c->cap)))
            fail("client %d: read buffer of %zu bytes refused", k, c->cap);
    }
    r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) {
        lost(c, k, r == 0 ? "closed by the server" : strerror(errno), 1006);
        return;
    }
    c->len += (size_t)r;
    if (c->st == UPGRADING && !upgraded(c, k)) return;
    parse_frames(c, k);
}

/* Connected (or refused): send the upgrade request. */
static void on_connected(struct conn *c, int k) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char raw[18] = {0}; /* 16 random bytes: 22 base64 digits and "==" */
    char key[25], req[4096];
    int err = 0, n;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) fail("client %d: connect to %s:%d: %s", k, host, port, strerror(err));
    for (int i = 0; i < 16; i++) raw[i] = (unsigned char)next_rand();
    for (int i = 0, j = 0; i < 18; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int s = 18; s >= 0; s -= 6) key[j++] = b64[v >> s & 63];
    }
    memcpy(key + 22, "==", 3);
    n = snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 c->path, host, port, key);
    if (n >= (int)sizeof req || send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        fail("client %d: could not send the upgrade request", k);
    c->st = UPGRADING;
    watch(c->fd, EPOLL_CTL_MOD, EPOLLIN, (uint32_t)k);
}

/* Start connections until MAX_INFLIGHT handshakes are under way. */
static void start_next(void) {
    int one = 1;
    while (n_started < n_conns && n_inflight < MAX_INFLIGHT) {
        int k = n_started++;
        struct conn *c = &conns[k];
        if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
            fail("client %d: socket: %s", k, strerror(errno));
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (loopback) { /* many source addresses: no shortage of ephemeral ports */
            unsigned idx = source++ % N_SOURCES;
            struct sockaddr_in src = {.sin_family = AF_INET};
            src.sin_addr.s_addr = htonl(127u << 24 | (1 + idx / 248) << 8 | (2 + idx % 248));
            setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0)
                fail("client %d: bind: %s", k, strerror(errno));
        }
        if (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS)
            fail("client %d: connect to %s:%d: %s", k, host, port, strerror(errno));
        c->st = CONNECTING;
        n_inflight++;
        watch(c->fd, EPOLL_CTL_ADD, EPOLLOUT, (uint32_t)k);
    }
}

/* The next complete line of stdin (newline cut), or NULL; with `block`, read until one. */
static char *take_line(int block) {
    static size_t used; /* the line handed out last time */
    char *nl;
    memmove(inbuf, inbuf + used, inlen - used);
    inlen -= used;
    used = 0;
    while (!(nl = memchr(inbuf, '\n', inlen))) {
        ssize_t r;
        if (!block) return NULL;
        if (inlen == sizeof inbuf) fail("stdin line too long");
        if ((r = read(0, inbuf + inlen, sizeof inbuf - inlen)) <= 0)
            fail("stdin ended before the %d client lines", n_conns);
        inlen += (size_t)r;
    }
    *nl = 0;
    used = (size_t)(nl - inbuf) + 1;
    return inbuf;
}

static void quit(void) {
    if (n_ready < n_conns)
        fail("not ready: %d of %d clients ready, %d in their handshake, %d not started",
             n_ready, n_conns, n_inflight, n_conns - n_started);
    for (int k = 0; k < n_conns; k++)
        if (conns[k].st != CLOSED) close(conns[k].fd);
    exit(0);
}

static void run_commands(int readable) { /* every complete command line read so far */
    char *line;
    long long first, count;
    ssize_t r = readable ? read(0, inbuf + inlen, sizeof inbuf - inlen) : -1;
    if (r == 0) quit(); /* the generator went away */
    if (r > 0) inlen += (size_t)r;
    while ((line = take_line(0))) {
        if (sscanf(line, "expect %lld %lld", &first, &count) == 2) {
            arm(first, count);
        } else if (strcmp(line, "report") == 0) {
            if (m.armed) report(); /* else the measurement just ended: its line is out */
        } else if (strcmp(line, "quit") == 0) {
            quit();
        } else {
            fprintf(stderr, "latency_probe: unknown command %.80s\n", line);
        }
    }
    if (inlen == sizeof inbuf) fail("stdin line too long");
}

int main(int argc, char **argv) {
    static struct epoll_event events[MAX_EVENTS];
    struct rlimit lim;
    int sample_every;
    if (argc != 7) fail("usage: latency_probe HOST PORT PROTOCOL N SAMPLE_EVERY T0_NS");
    host = argv[1], port = atoi(argv[2]), n_conns = atoi(argv[4]);
    sample_every = atoi(argv[5]), t0 = atoll(argv[6]);
    if (!strcmp(argv[3], "tocsin")) proto = TOCSIN;
    else if (!strcmp(argv[3], "socketio")) proto = SOCKETIO;
    else if (!strcmp(argv[3], "plain")) proto = PLAIN;
    else fail("unknown protocol %s", argv[3]);
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1 || port <= 0 || n_conns < 0)
        fail("bad host %s, port %s or N %s", host, argv[2], argv[4]);
    loopback = ntohl(server.sin_addr.s_addr) >> 24 == 127;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max; /* N sockets may need more than the soft limit */
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    rng = (uint64_t)now_ns() ^ (uint64_t)getpid() << 32 ^ 0x9e3779b97f4a7c15ULL;
    source = (unsigned)next_rand();

    conns = calloc((size_t)n_conns + 1, sizeof *conns); /* + 1: N may be 0 */
    if (!conns) fail("out of memory");
    for (int k = 0; k < n_conns; k++) {
        struct conn *c = &conns[k];
        char *line = take_line(1), *tab = strchr(line, '\t');
        if (tab) *tab = 0;
        c->path = strdup(line);
        c->token = strdup(tab ? tab + 1 : "");
        c->sampled = sample_every > 0 && k % sample_every == 0;
        c->buf = malloc(c->cap = 4096);
        if (!c->path || !c->token || !c->buf) fail("out of memory");
    }
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) fail("epoll_create1: %s", strerror(errno));
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &(struct epoll_event){EPOLLIN, {.u32 = STDIN_TAG}}) < 0)
        fail("stdin must be a pipe: %s", strerror(errno));
    if (n_conns == 0) out("ready\n", 6);
    run_commands(0); /* any that came along with the client lines */
    start_next();
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
        for (int e = 0; e < n; e++) {
            uint32_t tag = events[e].data.u32;
            if (tag == STDIN_TAG) {
                run_commands(1);
                continue;
            }
            if (conns[tag].st == CONNECTING) on_connected(&conns[tag], (int)tag);
            else if (conns[tag].st != CLOSED) on_readable(&conns[tag], (int)tag);
        }
    }
}
