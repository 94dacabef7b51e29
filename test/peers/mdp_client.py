#!/usr/bin/python3
"""An MDP/0.1 client written from ZeroMQ RFC 7 (REQ socket), independent of steward's code.

Usage: mdp_client.py ENDPOINT SERVICE [BODY...]
Prints each reply frame after the MDPC01 header and service, one per line;
exits 1 when no reply arrives within 3 s.
"""
import sys

import zmq


def main():
    endpoint, service, body = sys.argv[1], sys.argv[2].encode(), [b.encode() for b in sys.argv[3:]]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    sock.connect(endpoint)
    sock.send_multipart([b"MDPC01", service] + body)
    if not sock.poll(3000, zmq.POLLIN):
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
