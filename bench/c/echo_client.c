// Echo load generator: N connections to 127.0.0.1:PORT, each sending a
// MSG-byte message and waiting for all of it to come back before sending the
// next (ping-pong), for SECONDS seconds. One thread, epoll, non-blocking
// sockets: cheap enough per message that the server, not this program, is
// what a run measures (its own CPU time is reported so that can be checked).
//
//   echo_client PORT CONNECTIONS MSG_BYTES SECONDS
// Prints one line: messages=N seconds=S client_cpu_seconds=C errors=E
// Every echoed byte is compared with what was sent; a mismatch counts as an
// error and ends the run.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  size_t sent;      // bytes of the current message written
  size_t received;  // bytes of the current message read back
  unsigned seq;     // which message (its bytes depend on it)
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static unsigned char byte_at(unsigned seq, size_t i) { return (unsigned char)(seq * 31 + i * 7 + 1); }

// Writes what is left of the connection's current message; 0, or -1 on error.
static int pump_out(struct conn* c, size_t msg, unsigned char* buf) {
  while (c->sent < msg) {
    size_t n = msg - c->sent;
    for (size_t i = 0; i < n; i++) buf[i] = byte_at(c->seq, c->sent + i);
    ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN ? 0 : -1;
    c->sent += (size_t)w;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s PORT CONNECTIONS MSG_BYTES SECONDS\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int nconn = atoi(argv[2]);
  size_t msg = (size_t)atol(argv[3]);
  double seconds = atof(argv[4]);
  if (port <= 0 || port > 65535 || nconn <= 0 || nconn > 4096 || msg == 0 || msg > (1 << 20) || !(seconds > 0)) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  unsigned char* out = malloc(msg);
  unsigned char* in = malloc(msg);
  struct conn* conns = calloc((size_t)nconn, sizeof *conns);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < nconn; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr*)&addr, sizeof addr) < 0) {
      perror("connect");
      return 1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    conns[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }

  long messages = 0, errors = 0;
  double cpu0 = cpu_seconds();
  double t0 = now(), deadline = t0 + seconds;
  for (int i = 0; i < nconn; i++) {
    if (pump_out(&conns[i], msg, out) < 0) errors++;
  }
  struct epoll_event events[256];
  double t = t0;
  while (errors == 0 && (t = now()) < deadline) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int k = 0; k < n; k++) {
      struct conn* c = &conns[events[k].data.u32];
      for (;;) {
        ssize_t r = recv(c->fd, in, msg - c->received, 0);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) {
          errors++;
          break;
        }
        for (ssize_t i = 0; i < r; i++) {
          if (in[i] != byte_at(c->seq, c->received + (size_t)i)) {
            errors++;
            break;
          }
        }
        c->received += (size_t)r;
        if (c->received == msg) {
          messages++;
          c->seq++;
          c->sent = 0;
          c->received = 0;
          if (pump_out(c, msg, out) < 0) errors++;
        }
      }
    }
  }
  double elapsed = now() - t0;
  double cpu = cpu_seconds() - cpu0;
  for (int i = 0; i < nconn; i++) close(conns[i].fd);
  printf("messages=%ld seconds=%.3f client_cpu_seconds=%.3f errors=%ld\n", messages, elapsed, cpu, errors);
  return errors == 0 ? 0 : 1;
}
