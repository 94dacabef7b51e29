#!/usr/bin/python3
"""An MDP/0.2 client written from ZeroMQ RFC 18 (spec:18/MDP), independent of steward's code.

Usage: mdp2_client.py ENDPOINT SERVICE [BODY...]
Sends one REQUEST from a DEALER socket, with no empty frame before the header
(RFC 18: "MDPC02", 0x01, service, body), and reads zero or more PARTIAL
(0x02) then one FINAL (0x03), each "MDPC02", command, service, body.
Prints one line per reply: "PARTIAL" or "FINAL", then the body frames, each
after a space. Exits 0 after the FINAL, 1 when a reply is silent for 3 s
(TIMEOUT_MS from the environment), 2 on a frame RFC 18 does not allow.
"""
import os
import sys

import zmq

MDPC02 = b"MDPC02"
REQUEST, PARTIAL, FINAL = b"\x01", b"\x02", b"\x03"


def main():
    endpoint, service = sys.argv[1], sys.argv[2].encode()
    body = [b.encode() for b in sys.argv[3:]]
    timeout = int(os.environ.get("TIMEOUT_MS", "3000"))
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    sock.send_multipart([MDPC02, REQUEST, service] + body)
    while True:
        if not sock.poll(timeout, zmq.POLLIN):
            print("timeout", file=sys.stderr)
            return 1
        frames = sock.recv_multipart()
        if len(frames) < 3 or frames[0] != MDPC02 or frames[2] != service or frames[1] not in (PARTIAL, FINAL):
            print("bad reply: %r" % (frames,), file=sys.stderr)
            return 2
        name = "PARTIAL" if frames[1] == PARTIAL else "FINAL"
        print(" ".join([name] + [f.decode("latin1") for f in frames[3:]]), flush=True)
        # After a FINAL the broker sends nothing more for this request (RFC 18).
        if frames[1] == FINAL:
            return 0


if __name__ == "__main__":
    sys.exit(main())
