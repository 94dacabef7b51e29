#!/usr/bin/python3
"""A butler (0.3.0) client written from the butler README's spec, independent of steward's code.

Usage: butler_client.py ENDPOINT SERVICE [BODY] [--rpc METHOD [--args JSON] [--kwargs JSON]]
                        [--timeout MS] [--expires-in MS] [--tag TAG] [--id ID]

Socket: DEALER connected to the router's frontend.
  request:   "", api_version:request_id, service_name, request_expiration (Unix ms), request
  response:  "", api_version:request_id, response

Sends one request (no body frame when neither BODY nor --rpc is given, as for
`mmi.` discovery) and prints the response body. Responses whose request id is
not ours are ignored (late replies). Exits 1 and prints "timeout" to stderr
when nothing arrives within --timeout (default 2500, butler's).
"""
import argparse
import json
import sys
import time

import zmq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("body", nargs="?")
    parser.add_argument("--rpc")
    parser.add_argument("--args", default="[]")
    parser.add_argument("--kwargs", default="{}")
    parser.add_argument("--timeout", type=int, default=2500)
    parser.add_argument("--expires-in", type=int)
    parser.add_argument("--tag", default="0.3.0")
    parser.add_argument("--id", default="1")
    opts = parser.parse_args()

    if opts.rpc:
        body = json.dumps({"method": opts.rpc, "args": json.loads(opts.args), "kwargs": json.loads(opts.kwargs)}).encode()
    elif opts.body is not None:
        body = opts.body.encode()
    else:
        body = None
    expires_in = opts.timeout if opts.expires_in is None else opts.expires_in
    expiration = int(time.time() * 1000) + expires_in
    header = ("%s:%s" % (opts.tag, opts.id)).encode()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(opts.endpoint)
    request = [b"", header, opts.service.encode(), str(expiration).encode()]
    if body is not None:
        request.append(body)
    sock.send_multipart(request)

    deadline = time.time() + opts.timeout / 1000.0
    while True:
        remaining = int((deadline - time.time()) * 1000)
        if remaining <= 0 or not sock.poll(remaining, zmq.POLLIN):
            print("timeout", file=sys.stderr)
            return 1
        frames = sock.recv_multipart()
        if len(frames) < 3 or frames[0] != b"" or frames[1] != header:
            continue  # not the answer to this request
        for f in frames[2:]:
            print(f.decode("utf-8", "replace"))
        return 0


if __name__ == "__main__":
    sys.exit(main())
