#!/usr/bin/python3
"""A libzmq ROUTER (pyzmq) that sends every message back to its sender.

Usage: zmq_echo_router.py [HEARTBEAT_MS]
Binds tcp://127.0.0.1 on a free port, prints "ENDPOINT tcp://127.0.0.1:PORT"
then "READY". With HEARTBEAT_MS it sends ZMTP PINGs that often and drops a
connection silent for 3 of them (so a peer that never answers PING is cut).
A message whose last frame is b"who" is answered with the peer's routing id
as well. Runs until killed.
"""
import sys

import zmq


def main():
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    if len(sys.argv) > 1:
        ms = int(sys.argv[1])
        router.setsockopt(zmq.HEARTBEAT_IVL, ms)
        router.setsockopt(zmq.HEARTBEAT_TIMEOUT, ms * 3)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    print(f"ENDPOINT tcp://127.0.0.1:{port}", flush=True)
    print("READY", flush=True)
    while True:
        frames = router.recv_multipart()
        if frames[-1] == b"who":
            frames = frames + [b"id:" + frames[0]]
        router.send_multipart(frames)


if __name__ == "__main__":
    main()
