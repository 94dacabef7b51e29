/* Reading one whole ZeroMQ message, shared by the C MDP peers (mdp-client.c, mdp-worker.c). */
#ifndef MDP_MESSAGE_H
#define MDP_MESSAGE_H
#include <zmq.h>

/*
 * Reads the next message on `socket` without waiting for one: its frames go
 * into `frames`, at most `max` of them; a longer message is still read to its
 * end (its extra frames closed) and *overflow is set. Returns the number of
 * frames kept, 0 when no message was waiting. The caller closes the frames.
 */
static int read_message(void *socket, zmq_msg_t *frames, int max, int *overflow) {
  int n = 0, more = 1, first = 1;
  *overflow = 0;
  while (more) {
    zmq_msg_t part;
    zmq_msg_init(&part);
    /* Only the first frame may be missing: the rest of a message arrives with it. */
    if (zmq_msg_recv(&part, socket, first ? ZMQ_DONTWAIT : 0) < 0) {
      zmq_msg_close(&part);
      break;
    }
    first = 0;
    more = zmq_msg_more(&part);
    if (n < max) {
      frames[n++] = part;
    } else {
      *overflow = 1;
      zmq_msg_close(&part);
    }
  }
  return n;
}

#endif
