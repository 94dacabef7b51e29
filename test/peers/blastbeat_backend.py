#!/usr/bin/python3
"""A BlastBeat backend node, written as the seed's Python example is
(a DEALER whose identity is the node name, recv_multipart of
[sid, type, body]), grown just enough to serve the gateway's tests:

  /hello      head and body in one 'headers' message
  /split      the head alone, then the body in two 'body' messages
  /chunked    a chunked response: 'chunk' messages, then an empty chunk
  /close      no Content-Length: the body, then 'end' (the connection closes)
  /echo       the request body back (Content-Length or chunked request)
  /vars       the uwsgi vars as JSON
  /slow       never answers
  /die        half a response, then the process exits
  /die-first  the process exits without answering
  WebSocket   every message echoed with its type (text or binary)

Usage: blastbeat_backend.py ENDPOINT NODE_NAME [CURVE FLAGS]
CURVE FLAGS (--curve-server-key, --curve-secret-key-file, ...) are described
in steward_curve.py: a gateway with CURVE lets in a node whose key is on its
allow-list. Without them the node speaks plain TCP.
Runs with Debian's python3-zmq (/usr/bin/python3)."""
import json
import os
import struct
import sys

import zmq

import steward_curve


def parse_uwsgi(packet):
    # BlastBeat's quirk: the 16-bit length counts the whole packet, header included.
    modifier1, total, modifier2 = struct.unpack('<BHB', packet[:4])
    if modifier1 != 0 or total != len(packet):
        raise ValueError('bad uwsgi packet: modifier %d, length %d of %d' % (modifier1, total, len(packet)))
    env, at = {}, 4
    while at < len(packet):
        (klen,) = struct.unpack('<H', packet[at:at + 2])
        key = packet[at + 2:at + 2 + klen].decode('latin1')
        at += 2 + klen
        (vlen,) = struct.unpack('<H', packet[at:at + 2])
        env[key] = packet[at + 2:at + 2 + vlen].decode('latin1')
        at += 2 + vlen
    return env


def response(status, body, extra=b''):
    return b'HTTP/1.1 ' + status + b'\r\nContent-Type: text/plain\r\nContent-Length: ' + str(len(body)).encode() + b'\r\n' + extra + b'\r\n' + body


def main():
    args, curve = steward_curve.take(sys.argv[1:])
    endpoint, node = args[0], args[1]
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.IDENTITY, node.encode())
    socket.setsockopt(zmq.LINGER, 0)
    steward_curve.apply(socket, curve)
    socket.connect(endpoint)
    print('ready', flush=True)

    sessions = {}

    def send(sid, kind, body=b''):
        socket.send_multipart([sid, kind, body])

    def answer(sid, env, body):
        path = env.get('PATH_INFO', '/')
        if path == '/hello':
            send(sid, b'headers', response(b'200 OK', b'hello from python ' + node.encode() + b' pid ' + str(os.getpid()).encode() + b'\n'))
        elif path == '/split':
            send(sid, b'headers', b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n')
            send(sid, b'body', b'01234')
            send(sid, b'body', b'56789')
        elif path == '/chunked':
            send(sid, b'headers', b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
            for piece in (b'one ', b'two ', b'three'):
                send(sid, b'chunk', piece)
            send(sid, b'chunk', b'')
        elif path == '/close':
            send(sid, b'headers', b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ')
            send(sid, b'body', b'the end')
            send(sid, b'end')
        elif path == '/echo':
            send(sid, b'headers', response(b'200 OK', body))
        elif path == '/vars':
            send(sid, b'headers', response(b'200 OK', json.dumps(env, sort_keys=True).encode()))
        elif path == '/slow':
            pass
        elif path == '/die':
            send(sid, b'headers', b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it')
            # Let the half response leave (term waits for the linger), then die without a goodbye.
            socket.close(linger=1000)
            context.term()
            os._exit(0)
        elif path == '/die-first':
            os._exit(0)
        else:
            send(sid, b'headers', response(b'404 Not Found', b'no such page\n'))

    while True:
        frames = socket.recv_multipart()
        if len(frames) != 3:
            continue
        sid, msg_type, msg_body = frames
        if msg_type == b'ping':
            send(b'', b'pong')
            continue
        if msg_type == b'end':
            sessions.pop(sid, None)
            continue
        if msg_type == b'uwsgi':
            env = parse_uwsgi(msg_body)
            if env.get('HTTP_UPGRADE', '').lower() == 'websocket':
                sessions[sid] = {'ws': True}
                continue
            length = int(env.get('CONTENT_LENGTH') or 0)
            chunked = 'chunked' in env.get('HTTP_TRANSFER_ENCODING', '').lower()
            sessions[sid] = {'env': env, 'body': b'', 'length': length, 'chunked': chunked}
            if length == 0 and not chunked:
                answer(sid, env, b'')
            continue
        session = sessions.get(sid)
        if session is None:
            continue
        if msg_type == b'body' and 'env' in session:
            if session['chunked'] and msg_body == b'':
                answer(sid, session['env'], session['body'])
                continue
            session['body'] += msg_body
            if not session['chunked'] and len(session['body']) >= session['length']:
                answer(sid, session['env'], session['body'])
        elif msg_type in (b'websocket', b'websocket-binary'):
            send(sid, msg_type, msg_body)


if __name__ == '__main__':
    main()
