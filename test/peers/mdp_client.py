#!/usr/bin/python3
"""An MDP/0.1 client written from ZeroMQ RFC 7 (REQ socket), independent of steward's code.

Usage: mdp_client.py ENDPOINT SERVICE [BODY...] [CURVE FLAGS]
Prints each reply frame after the MDPC01 header and service, one per line;
exits 1 when no reply arrives within 3 s (TIMEOUT_MS from the environment).
CURVE FLAGS (--curve-server-key, --curve-secret-key-file, ...) are described
in steward_curve.py; without them the client speaks plain TCP.
"""
import os
import sys

import zmq

import steward_curve


def main():
    args, curve = steward_curve.take(sys.argv[1:])
    endpoint, service, body = args[0], args[1].encode(), [b.encode() for b in args[2:]]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    steward_curve.apply(sock, curve)
    sock.connect(endpoint)
    sock.send_multipart([b"MDPC01", service] + body)
    if not sock.poll(int(os.environ.get("TIMEOUT_MS", "3000")), zmq.POLLIN):
        print("timeout", file=sys.stderr)
        return 1
    frames = sock.recv_multipart()
    assert frames[0] == b"MDPC01", frames
    assert frames[1] == service, frames
    for f in frames[2:]:
        print(f.decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
