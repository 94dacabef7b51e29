#!/usr/bin/python3
"""A stirr client as the seed's examples wrote one: a DEALER that sends one
JSON frame and reads one JSON frame back. Run by test/peers/stirr-python.test.ts
with Debian's python3-zmq.

usage: stirr_client.py ENDPOINT REQUEST_JSON...
Each REQUEST_JSON is sent verbatim (so tests can send malformed ones); each
reply is printed on its own line as the JSON text received.
"""
import sys

import zmq

TIMEOUT_MS = 5000


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    endpoint, requests = argv[0], argv[1:]
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    try:
        for request in requests:
            socket.send(request.encode("utf-8"))
            if not poller.poll(TIMEOUT_MS):
                sys.stderr.write("no reply within %d ms\n" % TIMEOUT_MS)
                return 1
            frames = socket.recv_multipart()
            sys.stdout.write(frames[-1].decode("utf-8") + "\n")
            sys.stdout.flush()
    finally:
        socket.close()
        context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
