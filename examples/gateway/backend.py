#!/usr/bin/python3
"""The seed's Python backend, answering: a BlastBeat node in a dozen lines.

    python3 examples/gateway/backend.py tcp://127.0.0.1:5000 web1

Needs pyzmq (Debian: python3-zmq). Serves every path with a greeting; stop
the TypeScript web1 first, or name this one after another node of the host."""
import sys

import zmq

endpoint = sys.argv[1] if len(sys.argv) > 1 else 'tcp://127.0.0.1:5000'
node = sys.argv[2] if len(sys.argv) > 2 else 'web1'
context = zmq.Context()
socket = context.socket(zmq.DEALER)
socket.setsockopt(zmq.IDENTITY, node.encode())
socket.connect(endpoint)

while True:
    sid, msg_type, msg_body = socket.recv_multipart()
    if msg_type == b'ping':
        socket.send_multipart([b'', b'pong', b''])
    elif msg_type == b'uwsgi':
        body = b'hello from python\n'
        socket.send_multipart([sid, b'headers', b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body)])
