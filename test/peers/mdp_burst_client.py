#!/usr/bin/python3
"""An asynchronous MDP/0.1 client written from ZeroMQ RFC 7 (a DEALER, as the zguide's
mdclient2.py with mdcliapi2): sends COUNT requests at once, then reads COUNT replies.
Independent of steward's code.

Usage: mdp_burst_client.py ENDPOINT SERVICE COUNT
Request i carries the body "i"; every reply must echo a body that was sent, once.
Prints "answered N" and exits 0 when all COUNT replies came, or "stalled after N"
and exits 1 when none arrives for IDLE_MS (default 20000) from the environment.
"""
import os
import sys

import zmq


def main():
    endpoint, service, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
    idle_ms = int(os.environ.get("IDLE_MS", "20000"))
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    # A blocking send: when the broker stops reading, the high-water marks make this wait.
    for i in range(count):
        sock.send_multipart([b"", b"MDPC01", service, str(i).encode()])
    print("sent %d" % count, flush=True)
    seen = bytearray(count)
    answered = 0
    while answered < count:
        if not sock.poll(idle_ms, zmq.POLLIN):
            print("stalled after %d" % answered, flush=True)
            return 1
        frames = sock.recv_multipart()
        if len(frames) != 4 or frames[0] != b"" or frames[1] != b"MDPC01" or frames[2] != service:
            print("bad reply %r" % (frames[:3],), flush=True)
            return 1
        i = int(frames[3])
        if i < 0 or i >= count or seen[i]:
            print("unexpected or repeated reply %d" % i, flush=True)
            return 1
        seen[i] = 1
        answered += 1
    print("answered %d" % answered, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
