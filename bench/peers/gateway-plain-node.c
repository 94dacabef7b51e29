/*
 * A minimal plain-wire BlastBeat node in C on libzmq, the shape BlastBeat's
 * own examples have: a DEALER named NODE connected to the gateway, answering
 * every `uwsgi` message with one `headers` message holding a whole prebuilt
 * response, `pong` to `ping`, and a `pong` at start to announce itself. No
 * batch extension: one ZeroMQ message each way per request. Written in C so
 * the node is not what the gateway benchmark measures.
 *
 *   gcc -O2 -o gateway-plain-node gateway-plain-node.c -lzmq
 *   ./gateway-plain-node tcp://127.0.0.1:5000 NODE      (prints "ready")
 */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define BODY "hello from node\n"
static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 16\r\n\r\n" BODY;

static int send3(void *socket, const void *sid, size_t sid_size, const char *type, const void *body, size_t body_size) {
    if (zmq_send(socket, sid, sid_size, ZMQ_SNDMORE) < 0) return -1;
    if (zmq_send(socket, type, strlen(type), ZMQ_SNDMORE) < 0) return -1;
    return zmq_send(socket, body, body_size, 0);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ENDPOINT NODE\n", argv[0]);
        return 2;
    }
    void *context = zmq_ctx_new();
    void *socket = zmq_socket(context, ZMQ_DEALER);
    int hwm = 100000, linger = 0;
    zmq_setsockopt(socket, ZMQ_ROUTING_ID, argv[2], strlen(argv[2]));
    zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(socket, argv[1]) != 0) {
        fprintf(stderr, "connect %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    send3(socket, "", 0, "pong", "", 0);
    printf("ready\n");
    fflush(stdout);

    unsigned char sid[256], type[32];
    for (;;) {
        /* [sid, type, body]; any other frame count is read to its end and ignored. */
        int sid_size = zmq_recv(socket, sid, sizeof sid, 0);
        if (sid_size < 0) break;
        int more = 0, type_size = -1, frames = 1;
        size_t more_size = sizeof more;
        zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size);
        while (more) {
            char sink[64];
            int n = frames == 1 ? zmq_recv(socket, type, sizeof type, 0) : zmq_recv(socket, sink, sizeof sink, 0);
            if (n < 0) return 1;
            if (frames == 1) type_size = n;
            frames++;
            zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size);
        }
        if (frames != 3 || sid_size > (int)sizeof sid || type_size > (int)sizeof type) continue;
        if (type_size == 5 && memcmp(type, "uwsgi", 5) == 0)
            send3(socket, sid, (size_t)sid_size, "headers", RESPONSE, sizeof RESPONSE - 1);
        else if (type_size == 4 && memcmp(type, "ping", 4) == 0)
            send3(socket, "", 0, "pong", "", 0);
    }
    zmq_close(socket);
    zmq_ctx_term(context);
    return 0;
}
