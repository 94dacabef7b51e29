#!/usr/bin/python3
"""A butler (0.3.0) service worker written from the butler README's spec, independent of steward's code.

Usage: butler_worker.py ENDPOINT SERVICE [--identity NAME]

Socket: DEALER connected to the router's backend.
  to router:    PPP_READY "\\x01", service      PPP_HEARTBEAT "\\x02"
                PPP_REPLY "\\x04", client_ident, "", api_version:request_id, response
  from router:  client_ident, "", api_version:request_id, service_name, request_expiration, request   (6 frames)
                PPP_HEARTBEAT "\\x02"         PPP_RECONNECT "\\x03" (register again)

Requests are butler RPC: {"method", "args", "kwargs"}; replies are the JSON
result, "404" for an unknown method, "500:exception:" + JSON {name, message,
traceback} when it raised (steward's JSON instead of butler's pickle). A body
that is not an RPC request is echoed upper-cased with a "py:" prefix.

Prints, one per line and flushed: READY once registered, HEARTBEAT at the
first heartbeat from the router, REQUEST <api:id> <body> for each request,
RECONNECT when told to register again, RECONNECTING when the router fell
silent. Heartbeats every HEARTBEAT_MS (default 1000, butler's); the router is
taken for lost after LIVENESS (default 3) silent intervals.
"""
import argparse
import json
import os
import sys
import time
import traceback

import zmq

PPP_READY, PPP_HEARTBEAT, PPP_RECONNECT, PPP_REPLY = b"\x01", b"\x02", b"\x03", b"\x04"


def say(line):
    print(line, flush=True)


class Service(object):
    def add(self, a, b):
        return a + b

    def echo(self, *args, **kwargs):
        return {"args": list(args), "kwargs": kwargs}

    def fail(self, message):
        raise ValueError(message)

    def sleep(self, seconds):
        # Blocking, like the original worker: no heartbeats while it runs.
        time.sleep(seconds)
        return "slept %s" % seconds

    def timeout(self):
        return "reserved"


RESERVED = ("timeout", "close")


def rpc(body):
    try:
        request = json.loads(body.decode("utf-8"))
        method = request["method"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return b"py:" + body.upper()
    service = Service()
    fn = getattr(service, method, None) if isinstance(method, str) and not method.startswith("_") and method not in RESERVED else None
    if fn is None:
        return b"404"
    try:
        result = fn(*request.get("args", []), **request.get("kwargs", {}))
    except Exception as e:  # noqa: BLE001 - every failure goes back to the client
        payload = {"name": type(e).__name__, "message": str(e), "traceback": traceback.format_exc()}
        return b"500:exception:" + json.dumps(payload).encode()
    return json.dumps(result).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("--identity")
    opts = parser.parse_args()
    service = opts.service.encode()
    interval = int(os.environ.get("HEARTBEAT_MS", "1000"))
    liveness_max = int(os.environ.get("LIVENESS", "3"))
    ctx = zmq.Context()

    def connect():
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        if opts.identity:
            s.setsockopt(zmq.IDENTITY, opts.identity.encode())
        s.connect(opts.endpoint)
        s.send_multipart([PPP_READY, service])
        return s

    sock = connect()
    say("READY")
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    liveness = liveness_max
    heard_heartbeat = False
    heartbeat_at = time.time() + interval / 1000.0
    while True:
        events = dict(poller.poll(interval))
        if events.get(sock) == zmq.POLLIN:
            frames = sock.recv_multipart()
            liveness = liveness_max
            if frames == [PPP_HEARTBEAT]:
                if not heard_heartbeat:
                    heard_heartbeat = True
                    say("HEARTBEAT")
            elif frames == [PPP_RECONNECT]:
                say("RECONNECT")
                sock.send_multipart([PPP_READY, service])
            elif len(frames) == 6:
                client_ident, _null, header, _service, _expiration, body = frames
                say("REQUEST %s %s" % (header.decode(), body.decode("utf-8", "replace")))
                sock.send_multipart([PPP_REPLY, client_ident, b"", header, rpc(body)])
            else:
                say("BAD %r" % (frames,))
        else:
            liveness -= 1
            if liveness == 0:
                say("RECONNECTING")
                poller.unregister(sock)
                sock.close()
                sock = connect()
                poller.register(sock, zmq.POLLIN)
                liveness = liveness_max
        if time.time() > heartbeat_at:
            sock.send_multipart([PPP_HEARTBEAT])
            heartbeat_at = time.time() + interval / 1000.0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
