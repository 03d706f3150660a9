// loadgen: the project's native load generator for echo-style TCP servers
// (epoll, one thread). Adapted from the team's tcpbench
// (/work/shared/tools/tcpbench.c): same modes, flags and JSON line.
//
// Each message is `size` bytes; with --frame len32be/len32le the first 4 bytes
// carry the payload length (size - 4), so a framing server sees one frame per
// message. The server must send back exactly the bytes it received, and every
// byte is checked (memcmp against what was sent) unless --no-verify is given.
//
// modes:
//   pingpong  each connection sends `depth` messages at once and waits for all
//             of them to come back before sending the next batch
//             (depth 1: request/response; depth 16: pipelined)
//   churn     each connection: connect, send one message, read the echo,
//             close; repeat. The client closes first, so each cycle leaves a
//             TIME_WAIT socket that holds its local port for about 2 s
//             (tcp_tw_reuse waits for the next second): one source address
//             caps churn at about (ephemeral port range) / 2 s, ~14k/s here.
//             --sources N spreads connections over the source addresses
//             127.0.0.1 .. 127.0.0.N (all loopback), each with its own ports.
//   hold      open `conns` connections (at most 4 handshakes in flight, so not
//             even Python's accept backlog of 5 overflows: an overflow drops the
//             handshake and the kernel retries it after 1, 2, 4 … s), echo one
//             message on each,
//             print {"event":"held",...} once all are open, keep them idle for
//             `duration` seconds, then ping each once: `alive` counts those
//             that answered
//
// Changes from tcpbench, and why:
// - latency is per message (time from the batch being sent to that message's
//   echo), not a batch's time divided by depth, which is not a latency;
// - --warmup S runs the load for S seconds before counting, so JIT warm-up is
//   not measured;
// - verification is one memcmp per read instead of a byte loop with a modulo,
//   so 256 KiB frames are verified without the client becoming the bottleneck;
//   `mismatches` counts the wrong bytes (and any bytes beyond what was sent);
// - latencies go into a log-linear histogram (about 1.6% resolution), so
//   memory stays fixed however long the run;
// - hold mode reports when all connections are held and counts as `alive`
//   only connections that answered the final ping.
//
// Prints one JSON line: mode, conns, opened, alive, depth, size, ops,
// ops_per_s, bytes_per_s (bytes echoed back), p50_us, p99_us, errors,
// mismatches. In hold mode, ops_per_s is the rate of the final pings.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { RAW, LEN32BE, LEN32LE };
enum { CONNECTING, ACTIVE, IDLE, CLOSED };  // connection states
enum { OPENING, HOLDING, PINGING };  // hold-mode phases

typedef struct {
  int fd, state;
  size_t sent, recvd;  // bytes of the current batch
  uint64_t t0;         // when the current batch (or the connect, in churn) started
} conn_t;

static const char *host = "127.0.0.1";
static int port = 9000, nconns = 50, depth = 1, framing = RAW, verify = 1, sources = 1;
static double duration = 5, warmup = 0;
static size_t msize = 64, wsize;
static const char *mode = "pingpong";
static int churn, hold;
static unsigned char *window;  // `depth` copies of the message: one batch
static int ep;
static uint64_t ops, errors, mismatches, bytes;
static int measuring;  // outside warm-up (and, in hold mode, in the ping phase)
static int phase = OPENING, pending, asked;  // hold mode: phase, handshakes in flight, pings sent

#define HOLD_CONNECT_CONCURRENCY 4
#define SUB_BUCKETS 64  // histogram: 64 linear buckets per power of two
#define NBUCKETS (SUB_BUCKETS + 58 * SUB_BUCKETS)
static uint64_t hist[NBUCKETS], nlat;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static int bucket_of(uint64_t v) {
  if (v < SUB_BUCKETS) return (int)v;
  int e = 63 - __builtin_clzll(v);  // >= 6
  return SUB_BUCKETS + (e - 6) * SUB_BUCKETS + (int)((v >> (e - 6)) - SUB_BUCKETS);
}

static double bucket_mid(int b) {
  if (b < SUB_BUCKETS) return b;
  int e = (b - SUB_BUCKETS) / SUB_BUCKETS + 6, sub = (b - SUB_BUCKETS) % SUB_BUCKETS;
  double width = (double)(1ull << (e - 6));
  return (SUB_BUCKETS + sub) * width + width / 2;
}

static void add_latency(uint64_t ns) { hist[bucket_of(ns)]++; nlat++; }

static double percentile_us(double q) {
  if (!nlat) return 0;
  uint64_t rank = (uint64_t)(q * (double)(nlat - 1)), seen = 0;
  for (int b = 0; b < NBUCKETS; b++) {
    seen += hist[b];
    if (seen > rank) return bucket_mid(b) / 1e3;
  }
  return 0;
}

static void watch(conn_t *c, int out) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void fail(conn_t *c) {
  if (hold && (c->state == CONNECTING || c->state == ACTIVE)) {
    if (phase == OPENING) pending--;  // one fewer handshake in flight
    else if (phase == PINGING) asked--;  // one fewer answer to wait for
  }
  errors++;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->state = CLOSED;
}

static int open_conn(conn_t *c) {
  c->state = CLOSED;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (sources > 1) {  // next source address; the port is still picked by connect()
    static uint32_t turn;
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + turn++ % sources);
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) {
      close(c->fd);
      c->fd = -1;
      return -1;
    }
  }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  c->state = CONNECTING;
  c->sent = c->recvd = 0;
  c->t0 = now_ns();
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

static void start_batch(conn_t *c, uint64_t t) {
  c->state = ACTIVE;
  c->sent = c->recvd = 0;
  c->t0 = t;
  watch(c, 1);
}

// Returns 1 when the batch on `c` is complete (all `wsize` bytes echoed back).
static int on_bytes(conn_t *c, const unsigned char *buf, size_t r, uint64_t t) {
  size_t room = wsize - c->recvd, take = r < room ? r : room;
  if (r > room) mismatches += r - room;  // the server sent more than it was sent
  if (verify && memcmp(buf, window + c->recvd, take) != 0)
    for (size_t j = 0; j < take; j++) mismatches += buf[j] != window[c->recvd + j];
  size_t before = c->recvd / msize;
  c->recvd += take;
  if (measuring) {
    bytes += take;
    for (size_t done = c->recvd / msize; before < done; before++) {
      ops++;
      add_latency(t - c->t0);
    }
  }
  return c->recvd == wsize;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--host")) host = v, i++;
    else if (!strcmp(a, "--port")) port = atoi(v), i++;
    else if (!strcmp(a, "--conns")) nconns = atoi(v), i++;
    else if (!strcmp(a, "--depth")) depth = atoi(v), i++;
    else if (!strcmp(a, "--size")) msize = strtoull(v, 0, 10), i++;
    else if (!strcmp(a, "--duration")) duration = atof(v), i++;
    else if (!strcmp(a, "--warmup")) warmup = atof(v), i++;
    else if (!strcmp(a, "--mode")) mode = v, i++;
    else if (!strcmp(a, "--sources")) sources = atoi(v), i++;
    else if (!strcmp(a, "--no-verify")) verify = 0;
    else if (!strcmp(a, "--frame")) {
      framing = !strcmp(v, "len32be") ? LEN32BE : !strcmp(v, "len32le") ? LEN32LE : RAW;
      i++;
    } else {
      fprintf(stderr,
              "usage: loadgen [--mode pingpong|churn|hold] [--host H] [--port P] [--conns N] "
              "[--depth D] [--size BYTES] [--duration S] [--warmup S] "
              "[--frame raw|len32be|len32le] [--no-verify] [--sources N]\n");
      return 2;
    }
  }
  churn = !strcmp(mode, "churn");
  hold = !strcmp(mode, "hold");
  if (!churn && !hold && strcmp(mode, "pingpong")) {
    fprintf(stderr, "loadgen: unknown mode %s\n", mode);
    return 2;
  }
  if (churn || hold) depth = 1;
  if (nconns < 1 || depth < 1 || msize < 1 || (framing != RAW && msize < 4) || sources < 1 ||
      sources > 254) {
    fprintf(stderr, "loadgen: need conns >= 1, depth >= 1, size >= 1 (>= 4 when framed), "
                    "1 <= sources <= 254\n");
    return 2;
  }

  unsigned char *msg = malloc(msize);
  for (size_t i = 0; i < msize; i++) msg[i] = (unsigned char)('a' + i % 26);
  if (framing != RAW) {
    uint32_t n = (uint32_t)(msize - 4);
    if (framing == LEN32BE) msg[0] = n >> 24, msg[1] = n >> 16, msg[2] = n >> 8, msg[3] = n;
    else msg[3] = n >> 24, msg[2] = n >> 16, msg[1] = n >> 8, msg[0] = n;
  }
  wsize = msize * depth;
  window = malloc(wsize);
  for (int d = 0; d < depth; d++) memcpy(window + (size_t)d * msize, msg, msize);
  size_t rcap = 1 << 20;
  unsigned char *rbuf = malloc(rcap);

  ep = epoll_create1(0);
  conn_t *cs = calloc(nconns, sizeof *cs);
  for (int i = 0; i < nconns; i++) cs[i].fd = -1, cs[i].state = CLOSED;
  int opened = 0, next = 0;  // connections that completed the handshake; next to open
  if (!hold)
    for (; next < nconns; next++)
      if (open_conn(&cs[next]) != 0) errors++;

  uint64_t start = now_ns();
  uint64_t mstart = start + (uint64_t)(warmup * 1e9), end = mstart + (uint64_t)(duration * 1e9);
  measuring = !hold && warmup <= 0;
  int held = 0, answered = 0;
  uint64_t phase_end = start + 60ull * 1000000000ull, ping_start = 0;  // opening gives up after 60 s
  struct epoll_event evs[512];

  for (;;) {
    uint64_t t = now_ns();
    if (!hold) {
      if (t >= end) break;
      if (!measuring && t >= mstart) measuring = 1;
    } else if (phase == OPENING) {
      while (next < nconns && pending < HOLD_CONNECT_CONCURRENCY) {
        if (open_conn(&cs[next++]) == 0) pending++;
        else errors++;
      }
      if (next == nconns && (pending == 0 || t >= phase_end)) {
        for (int i = 0; i < nconns; i++)
          if (cs[i].state == CONNECTING || cs[i].state == ACTIVE) fail(&cs[i]);  // gave up on it
        printf("{\"event\":\"held\",\"conns\":%d,\"held\":%d,\"errors\":%llu}\n", nconns, held,
               (unsigned long long)errors);
        fflush(stdout);
        phase = HOLDING;
        phase_end = now_ns() + (uint64_t)(duration * 1e9);
      }
    } else if (phase == HOLDING && t >= phase_end) {
      phase = PINGING;
      measuring = 1;
      ping_start = t;
      phase_end = t + 10ull * 1000000000ull;
      for (int i = 0; i < nconns; i++)
        if (cs[i].state == IDLE) start_batch(&cs[i], t), asked++;
    } else if (phase == PINGING && (answered >= asked || t >= phase_end)) {
      break;
    }

    int n = epoll_wait(ep, evs, 512, 10);
    for (int k = 0; k < n; k++) {
      conn_t *c = evs[k].data.ptr;
      uint32_t e = evs[k].events;
      if (c->state == CLOSED) continue;
      if (c->state == CONNECTING) {
        if (!(e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
          fail(c);
          continue;
        }
        opened++;
        start_batch(c, churn ? c->t0 : now_ns());  // churn latency includes the connect
      }
      if (c->state == ACTIVE && (e & EPOLLOUT) && c->sent < wsize) {
        ssize_t w = send(c->fd, window + c->sent, wsize - c->sent, MSG_NOSIGNAL);
        if (w > 0) c->sent += w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          fail(c);
          continue;
        }
        if (c->sent == wsize) watch(c, 0);
      }
      if (!(e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        ssize_t r = recv(c->fd, rbuf, rcap, 0);
        if (r > 0) {
          if (c->state != ACTIVE) {  // bytes nobody asked for
            mismatches += r;
            continue;
          }
          uint64_t t1 = now_ns();
          if (!on_bytes(c, rbuf, (size_t)r, t1)) continue;
          if (churn) {
            close(c->fd);
            c->fd = -1;
            c->state = CLOSED;
            if (t1 < end && open_conn(c) != 0) errors++;
            break;
          }
          if (hold) {
            c->state = IDLE;
            watch(c, 0);
            if (phase == OPENING) pending--, held++;
            else answered++;
            continue;
          }
          start_batch(c, t1);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) fail(c);
        break;
      }
    }
  }

  double secs = (now_ns() - (hold ? ping_start : mstart)) / 1e9;
  int alive = 0;
  for (int i = 0; i < nconns; i++) alive += hold ? cs[i].state == IDLE : cs[i].state != CLOSED;
  printf("{\"mode\":\"%s\",\"conns\":%d,\"opened\":%d,\"alive\":%d,\"depth\":%d,\"size\":%zu,"
         "\"ops\":%llu,\"ops_per_s\":%.0f,\"bytes_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
         "\"errors\":%llu,\"mismatches\":%llu}\n",
         mode, nconns, opened, alive, depth, msize, (unsigned long long)ops,
         secs > 0 ? ops / secs : 0, secs > 0 ? bytes / secs : 0, percentile_us(0.50),
         percentile_us(0.99), (unsigned long long)errors, (unsigned long long)mismatches);
  return 0;
}
