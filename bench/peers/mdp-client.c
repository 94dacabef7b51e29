/*
 * An MDP/0.1 load client written from ZeroMQ RFC 7 (the client side of
 * Majordomo), in C so that the client is never what a broker benchmark
 * measures. One DEALER keeps N requests in flight through a broker, records
 * each request's latency and prints the rate and latency percentiles.
 *
 *   mdp-client ENDPOINT
 *
 * then one command per line on stdin:
 *
 *   run SERVICE IN_FLIGHT DURATION_MS BYTES
 *
 * answered by one line on stdout:
 *
 *   result {"requests":N,"seconds":S,"rate":R,"lost":L,"bad":B,"percentilesMs":[...]}
 *
 * with the latency at each of PERCENTILES (nearest rank; bench/lib/load.ts
 * lists the same points). Requests still unanswered DRAIN_MS after the run
 * are counted as lost; replies that do not match an outstanding request are
 * counted as bad. A command it cannot parse gets `error WHY`. It exits on
 * `quit`, on end of input, or when its parent dies.
 *
 * Each request is [empty, "MDPC01", SERVICE, BODY] (the empty frame stands in
 * for REQ's envelope on a DEALER); BODY is BYTES long and starts with the
 * request's slot and generation, so an echoed reply names its request.
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

static const double PERCENTILES[] = {50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100};
#define N_PERCENTILES (sizeof PERCENTILES / sizeof PERCENTILES[0])
#define MAX_IN_FLIGHT 100000
#define MAX_BYTES (64 * 1024 * 1024)
#define MAX_SERVICE 255
#define MIN_BYTES 8
#define DRAIN_MS 10000
#define MAX_REPLY_FRAMES 8

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  double *ms;
  size_t n, cap;
} samples_t;

static int push_sample(samples_t *s, double ms) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 65536;
    double *grown = realloc(s->ms, cap * sizeof *grown);
    if (!grown) return -1;
    s->ms = grown;
    s->cap = cap;
  }
  s->ms[s->n++] = ms;
  return 0;
}

typedef struct {
  void *socket;
  const char *service;
  size_t service_len;
  unsigned char *body;
  size_t bytes;
  uint64_t *sent_at;
  uint32_t *generation;
} run_t;

static int send_request(run_t *r, uint32_t slot) {
  memcpy(r->body, &slot, 4);
  memcpy(r->body + 4, &r->generation[slot], 4);
  r->sent_at[slot] = now_ns();
  if (zmq_send(r->socket, "", 0, ZMQ_SNDMORE) < 0) return -1;
  if (zmq_send(r->socket, "MDPC01", 6, ZMQ_SNDMORE) < 0) return -1;
  if (zmq_send(r->socket, r->service, r->service_len, ZMQ_SNDMORE) < 0) return -1;
  return zmq_send(r->socket, r->body, r->bytes, 0) < 0 ? -1 : 0;
}

/* Reads one whole message; returns its slot when it answers an outstanding request, else -1 (bad), or -2 (nothing to read). */
static long read_reply(run_t *r, uint32_t in_flight, const unsigned char *outstanding) {
  zmq_msg_t frames[MAX_REPLY_FRAMES];
  int overflow;
  int n = read_message(r->socket, frames, MAX_REPLY_FRAMES, &overflow);
  if (n == 0) return -2;
  long slot = -1;
  if (!overflow && n == 4 && zmq_msg_size(&frames[0]) == 0 && zmq_msg_size(&frames[1]) == 6 && memcmp(zmq_msg_data(&frames[1]), "MDPC01", 6) == 0 &&
      zmq_msg_size(&frames[3]) == r->bytes) {
    uint32_t s, g;
    memcpy(&s, zmq_msg_data(&frames[3]), 4);
    memcpy(&g, (unsigned char *)zmq_msg_data(&frames[3]) + 4, 4);
    if (s < in_flight && outstanding[s] && g == r->generation[s]) slot = s;
  }
  for (int i = 0; i < n; i++) zmq_msg_close(&frames[i]);
  return slot;
}

static void run(void *socket, const char *service, uint32_t in_flight, uint32_t duration_ms, size_t bytes) {
  run_t r = {socket, service, strlen(service), calloc(bytes, 1), bytes, calloc(in_flight, sizeof(uint64_t)), calloc(in_flight, sizeof(uint32_t))};
  unsigned char *outstanding = calloc(in_flight, 1);
  samples_t samples = {0};
  unsigned long bad = 0;
  if (!r.body || !r.sent_at || !r.generation || !outstanding) {
    printf("error out of memory\n");
    goto done;
  }
  memset(r.body, 'x', bytes);
  uint64_t start = now_ns(), end = start + (uint64_t)duration_ms * 1000000u, last = start;
  uint32_t pending = 0;
  for (uint32_t slot = 0; slot < in_flight; slot++) {
    if (send_request(&r, slot) < 0) {
      printf("error send failed: %s\n", zmq_strerror(zmq_errno()));
      goto done;
    }
    outstanding[slot] = 1;
    pending++;
  }
  while (pending > 0) {
    uint64_t t = now_ns();
    uint64_t deadline = t < end ? end : end + (uint64_t)DRAIN_MS * 1000000u;
    if (t >= deadline) break;
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    long wait_ms = (long)((deadline - t + 999999u) / 1000000u);
    if (zmq_poll(&item, 1, wait_ms) < 0) break;
    for (;;) {
      long slot = read_reply(&r, in_flight, outstanding);
      if (slot == -2) break;
      if (slot < 0) {
        bad++;
        continue;
      }
      last = now_ns();
      if (push_sample(&samples, (double)(last - r.sent_at[slot]) / 1e6) < 0) {
        printf("error out of memory\n");
        goto done;
      }
      outstanding[slot] = 0;
      pending--;
      if (last < end) {
        r.generation[slot]++;
        if (send_request(&r, (uint32_t)slot) < 0) {
          printf("error send failed: %s\n", zmq_strerror(zmq_errno()));
          goto done;
        }
        outstanding[slot] = 1;
        pending++;
      }
    }
  }
  qsort(samples.ms, samples.n, sizeof(double), by_value);
  double seconds = (double)(last - start) / 1e9;
  printf("result {\"requests\":%zu,\"seconds\":%.6f,\"rate\":%.3f,\"lost\":%u,\"bad\":%lu,\"percentilesMs\":[", samples.n, seconds,
         seconds > 0 ? (double)samples.n / seconds : 0.0, pending, bad);
  for (size_t i = 0; i < N_PERCENTILES; i++) {
    double at = 0;
    if (samples.n) {
      /* ceil of the rank; the epsilon keeps 99.9% of 1000 at 999, not 1000 (99.9 / 100 * 1000 is 999.0000000000001) */
      double rank = PERCENTILES[i] / 100.0 * (double)samples.n - 1e-9;
      size_t k = rank <= 0 ? 0 : (size_t)rank;
      if ((double)k < rank) k++;
      at = samples.ms[k == 0 ? 0 : (k > samples.n ? samples.n : k) - 1];
    }
    printf("%s%.4f", i ? "," : "", at);
  }
  printf("]}\n");
done:
  fflush(stdout);
  free(r.body);
  free(r.sent_at);
  free(r.generation);
  free(outstanding);
  free(samples.ms);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: mdp-client ENDPOINT (then 'run SERVICE IN_FLIGHT DURATION_MS BYTES' lines on stdin)\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  void *context = zmq_ctx_new();
  void *socket = zmq_socket(context, ZMQ_DEALER);
  int zero = 0, hwm = 1000000;
  zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
  if (zmq_connect(socket, argv[1]) != 0) {
    fprintf(stderr, "mdp-client: cannot connect to %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    char service[MAX_SERVICE + 1];
    unsigned long in_flight, duration_ms, bytes;
    if (strncmp(line, "quit", 4) == 0) break;
    if (sscanf(line, "run %255s %lu %lu %lu", service, &in_flight, &duration_ms, &bytes) != 4) {
      printf("error expected 'run SERVICE IN_FLIGHT DURATION_MS BYTES'\n");
    } else if (in_flight < 1 || in_flight > MAX_IN_FLIGHT || duration_ms < 1 || duration_ms > 3600000 || bytes < MIN_BYTES || bytes > MAX_BYTES) {
      printf("error IN_FLIGHT must be 1..%d, DURATION_MS 1..3600000, BYTES %d..%d\n", MAX_IN_FLIGHT, MIN_BYTES, MAX_BYTES);
    } else {
      run(socket, service, (uint32_t)in_flight, (uint32_t)duration_ms, (size_t)bytes);
      continue;
    }
    fflush(stdout);
  }
  zmq_close(socket);
  zmq_ctx_term(context);
  return 0;
}
