#!/usr/bin/python3
"""An MDP/0.2 worker written from ZeroMQ RFC 18 (spec:18/MDP), independent of steward's code.

Usage: mdp2_worker.py ENDPOINT SERVICE [PARTS [PART_BYTES]]
For each REQUEST ("MDPW02", 0x02, client address, "", body) it sends PARTS
PARTIAL commands (default 3) and one FINAL, each "MDPW02", command, the same
client address, "", body. A partial is "py:<i>:<first body frame upper-cased>",
or PART_BYTES bytes when given; the FINAL is "py:done:<PARTS>". RFC 18 has no
window: the worker sends as fast as its socket takes them. The first body frame
"slow" makes it wait 1 s before answering.
Heartbeats every 2.5 s (HEARTBEAT_MS from the environment); registers again on
DISCONNECT or 3 silent intervals, on a new socket. Prints "READY" once it sent
READY, and "SERVED <n>" after each request.
"""
import os
import sys
import time

import zmq

MDPW02 = b"MDPW02"
READY, REQUEST, PARTIAL, FINAL, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06"


def main():
    endpoint, service = sys.argv[1], sys.argv[2].encode()
    parts = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    part_bytes = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    interval = int(os.environ.get("HEARTBEAT_MS", "2500"))
    ctx = zmq.Context()

    def connect():
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.sndhwm = 0  # no window in RFC 18: nothing here holds the parts back
        s.connect(endpoint)
        s.send_multipart([MDPW02, READY, service])
        return s

    sock = connect()
    print("READY", flush=True)
    served = 0
    liveness = 3
    heartbeat_at = time.time() + interval / 1000.0
    while True:
        if sock.poll(interval, zmq.POLLIN):
            frames = sock.recv_multipart()
            liveness = 3
            assert frames[0] == MDPW02, frames
            command = frames[1]
            if command == REQUEST:
                address, empty, body = frames[2], frames[3], frames[4:]
                assert empty == b"", frames
                first = body[0] if body else b""
                if first == b"slow":
                    time.sleep(1)
                for i in range(parts):
                    payload = b"x" * part_bytes if part_bytes else b"py:%d:%s" % (i, first.upper())
                    sock.send_multipart([MDPW02, PARTIAL, address, b"", payload])
                sock.send_multipart([MDPW02, FINAL, address, b"", b"py:done:%d" % parts])
                served += 1
                print("SERVED %d" % served, flush=True)
            elif command == DISCONNECT:
                sock.close()
                sock = connect()
        else:
            liveness -= 1
            if liveness == 0:
                sock.close()
                sock = connect()
                liveness = 3
        if time.time() > heartbeat_at:
            sock.send_multipart([MDPW02, HEARTBEAT])
            heartbeat_at = time.time() + interval / 1000.0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
