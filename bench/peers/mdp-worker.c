/*
 * An MDP/0.1 echo worker written from ZeroMQ RFC 7 (the worker side of
 * Majordomo), in C so that the worker is never what a broker benchmark
 * measures. It registers SERVICE with READY, answers every REQUEST with
 * REPLY carrying the request's own body (the frames are handed back to
 * libzmq, not copied), sends HEARTBEAT every HEARTBEAT_MS, and on DISCONNECT
 * connects again and sends READY again. Standard MDP/0.1: one request at a
 * time, no credit.
 *
 *   mdp-worker ENDPOINT SERVICE [HEARTBEAT_MS]
 *
 * prints `ready` once READY is queued; messages that are not MDP/0.1 worker
 * commands are dropped and counted (printed on exit). It exits on SIGTERM or
 * when its parent dies.
 */
#include <zmq.h>
#include "mdp-message.h"
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define MAX_FRAMES 64
#define READY 0x01
#define REQUEST 0x02
#define REPLY 0x03
#define HEARTBEAT 0x04
#define DISCONNECT 0x05

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int send_command(void *socket, unsigned char command, const char *service) {
  if (zmq_send(socket, "", 0, ZMQ_SNDMORE) < 0) return -1;
  if (zmq_send(socket, "MDPW01", 6, ZMQ_SNDMORE) < 0) return -1;
  if (!service) return zmq_send(socket, &command, 1, 0) < 0 ? -1 : 0;
  if (zmq_send(socket, &command, 1, ZMQ_SNDMORE) < 0) return -1;
  return zmq_send(socket, service, strlen(service), 0) < 0 ? -1 : 0;
}

static void *connect_worker(void *context, const char *endpoint, const char *service) {
  void *socket = zmq_socket(context, ZMQ_DEALER);
  int zero = 0, hwm = 1000000;
  zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
  if (zmq_connect(socket, endpoint) != 0 || send_command(socket, READY, service) != 0) {
    fprintf(stderr, "mdp-worker: cannot connect to %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
    exit(2);
  }
  return socket;
}

/* Frames 0..2 are [empty, "MDPW01", command]; answers a REQUEST [.., CLIENT, empty, BODY...] with REPLY and the same frames. */
static int is_worker_command(zmq_msg_t *frames, int n) {
  return n >= 3 && zmq_msg_size(&frames[0]) == 0 && zmq_msg_size(&frames[1]) == 6 && memcmp(zmq_msg_data(&frames[1]), "MDPW01", 6) == 0 &&
         zmq_msg_size(&frames[2]) == 1;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: mdp-worker ENDPOINT SERVICE [HEARTBEAT_MS]\n");
    return 2;
  }
  const char *endpoint = argv[1], *service = argv[2];
  long heartbeat_ms = argc == 4 ? strtol(argv[3], NULL, 10) : 2500;
  if (heartbeat_ms < 10 || heartbeat_ms > 3600000 || strlen(service) == 0 || strlen(service) > 255) {
    fprintf(stderr, "mdp-worker: HEARTBEAT_MS must be 10..3600000 and SERVICE 1..255 bytes\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  void *context = zmq_ctx_new();
  void *socket = connect_worker(context, endpoint, service);
  printf("ready\n");
  fflush(stdout);
  unsigned long dropped = 0, answered = 0;
  uint64_t next_heartbeat = now_ms() + (uint64_t)heartbeat_ms;
  while (!stopping) {
    uint64_t t = now_ms();
    if (t >= next_heartbeat) {
      send_command(socket, HEARTBEAT, NULL);
      next_heartbeat = t + (uint64_t)heartbeat_ms;
    }
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, (long)(next_heartbeat - t)) < 0) continue; /* EINTR: the loop checks `stopping` */
    for (;;) {
      zmq_msg_t frames[MAX_FRAMES];
      int overflow;
      int n = read_message(socket, frames, MAX_FRAMES, &overflow);
      if (n == 0) break;
      unsigned char command = is_worker_command(frames, n) && !overflow ? *(unsigned char *)zmq_msg_data(&frames[2]) : 0;
      if (command == REQUEST && n >= 6 && zmq_msg_size(&frames[4]) == 0) {
        unsigned char reply = REPLY;
        int ok = zmq_send(socket, "", 0, ZMQ_SNDMORE) >= 0 && zmq_send(socket, "MDPW01", 6, ZMQ_SNDMORE) >= 0 && zmq_send(socket, &reply, 1, ZMQ_SNDMORE) >= 0;
        for (int i = 3; ok && i < n; i++) ok = zmq_msg_send(&frames[i], socket, i + 1 < n ? ZMQ_SNDMORE : 0) >= 0;
        answered++;
      } else if (command == HEARTBEAT) {
        /* the broker is alive; nothing to do */
      } else if (command == DISCONNECT) {
        zmq_close(socket);
        socket = connect_worker(context, endpoint, service);
      } else {
        dropped++;
      }
      /* A frame zmq_msg_send took is empty now: closing it is a no-op. */
      for (int i = 0; i < n; i++) zmq_msg_close(&frames[i]);
    }
  }
  fprintf(stderr, "mdp-worker: %lu requests answered, %lu messages dropped\n", answered, dropped);
  zmq_close(socket);
  zmq_ctx_term(context);
  return 0;
}
