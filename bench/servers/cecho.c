// cecho: a minimal single-threaded epoll echo server in C, the ceiling for a
// one-core server on this machine. Usage: cecho PORT
//
// Copied from the team's /work/shared/tools/cecho.c so the repository is
// self-contained. Changes for bench/run.ts, which starts every server the same
// way: `--port N` is accepted as well as the positional PORT, it prints
// `listening on 127.0.0.1:PORT` once listening, and a failed bind says why.
// It is a blind byte echo (no framing work): that is what makes it the ceiling.
// SIGTERM's default action ends it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int port = 9000;
  if (argc > 2 && !strcmp(argv[1], "--port")) port = atoi(argv[2]);
  else if (argc > 1) port = atoi(argv[1]);
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) { perror("cecho: bind/listen"); return 1; }
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls }; epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  static char buf[1 << 20]; struct epoll_event evs[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c; while ((c = accept4(ls, 0, 0, SOCK_NONBLOCK)) >= 0) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event e = { .events = EPOLLIN, .data.fd = c }; epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        }
        continue;
      }
      for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) { ssize_t off = 0; while (off < r) { ssize_t w = send(fd, buf + off, r - off, MSG_NOSIGNAL); if (w > 0) off += w; else if (errno == EAGAIN) { usleep(50); } else { break; } } continue; }
        if (r == 0 || errno != EAGAIN) close(fd);
        break;
      }
    }
  }
}
