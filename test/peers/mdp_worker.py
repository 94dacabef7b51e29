#!/usr/bin/python3
"""An MDP/0.1 worker written from ZeroMQ RFC 7, independent of steward's code.

Usage: mdp_worker.py ENDPOINT SERVICE [CURVE FLAGS]
Answers every request with its body frames upper-cased, prefixed by "py:".
Heartbeats every 2.5 s (or HEARTBEAT_MS from the environment) and reconnects
when the broker is silent for 3 intervals or sends DISCONNECT.
Prints "READY" once registered (after the first READY is sent).
CURVE FLAGS (--curve-server-key, --curve-secret-key-file, ...) are described
in steward_curve.py; without them the worker speaks plain TCP.
"""
import os
import sys
import time

import zmq

import steward_curve

MDPW01 = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"


def main():
    args, curve = steward_curve.take(sys.argv[1:])
    endpoint, service = args[0], args[1].encode()
    interval = int(os.environ.get("HEARTBEAT_MS", "2500"))
    liveness_max = 3
    ctx = zmq.Context()

    def connect():
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        # Every new socket does the handshake again, so each gets the keys.
        steward_curve.apply(s, curve)
        s.connect(endpoint)
        s.send_multipart([b"", MDPW01, READY, service])
        return s

    sock = connect()
    print("READY", flush=True)
    liveness = liveness_max
    heartbeat_at = time.time() + interval / 1000.0
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    while True:
        events = dict(poller.poll(interval))
        if events.get(sock) == zmq.POLLIN:
            frames = sock.recv_multipart()
            liveness = liveness_max
            assert frames[0] == b"" and frames[1] == MDPW01, frames
            command = frames[2]
            if command == REQUEST:
                envelope, body = frames[3], frames[5:]
                reply = [b"py:" + f.upper() for f in body]
                sock.send_multipart([b"", MDPW01, REPLY, envelope, b""] + reply)
            elif command == HEARTBEAT:
                pass
            elif command == DISCONNECT:
                poller.unregister(sock)
                sock.close()
                sock = connect()
                poller.register(sock, zmq.POLLIN)
        else:
            liveness -= 1
            if liveness == 0:
                poller.unregister(sock)
                sock.close()
                time.sleep(interval / 1000.0)
                sock = connect()
                poller.register(sock, zmq.POLLIN)
                liveness = liveness_max
        if time.time() > heartbeat_at:
            sock.send_multipart([b"", MDPW01, HEARTBEAT])
            heartbeat_at = time.time() + interval / 1000.0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
