#!/usr/bin/python3
"""CURVE client options for the Python peers, read the way a Python user of
steward would: with pyzmq's own tools, not steward's code.

The peers take the same flags as steward's client roles, plus keys as text:

  --curve-server-key KEY|FILE   the server's public key: 40 Z85 characters, or a
                                file holding it (a bare key, or a key file's
                                public-key line)
  --curve-secret-key-file FILE  this peer's pair: a `steward keygen` file (or a
                                CZMQ zcert), read with zmq.auth.load_certificate
  --curve-public-key KEY        this peer's pair given as text instead of a file
  --curve-secret-key KEY        (the public key is derived when left out)

Without any of them a peer stays plain TCP. With a server key but no pair of
its own, a peer makes a fresh pair (which no allow-list knows), as steward does.

Run as a script, `steward_curve.py FILE` prints the public key of a key file
after checking it with pyzmq (z85.decode, curve_public): how a test proves that
steward's key files are readable by pyzmq.
"""
import os
import sys

import zmq
import zmq.auth
from zmq.utils import z85

FLAGS = ('--curve-server-key', '--curve-secret-key-file', '--curve-public-key', '--curve-secret-key')


def fail(message):
    print('curve: ' + message, file=sys.stderr)
    sys.exit(2)


def check_key(what, key):
    """A Z85 CURVE key (bytes), or exit 2 naming it: 40 characters that decode to 32 bytes."""
    if len(key) != 40:
        fail('%s is not a CURVE key (40 Z85 characters): %r' % (what, key[:60]))
    try:
        raw = z85.decode(key)
    except (KeyError, ValueError, TypeError):
        fail('%s is not Z85: %r' % (what, key))
    if len(raw) != 32:
        fail('%s does not decode to 32 bytes' % what)
    return key


def read_pair(path):
    """(public, secret) of a key file, read with pyzmq's certificate reader and checked."""
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as error:
        fail('%s: %s' % (path, error))
    if secret is None:
        fail('%s holds no secret-key (a public key file; give the pair)' % path)
    check_key(path + ': secret-key', secret)
    check_key(path + ': public-key', public)
    if zmq.curve_public(secret) != public:
        fail('%s: public-key does not belong to secret-key' % path)
    return public, secret


def server_key(value):
    """The server's public key given as the key itself or as a file holding it."""
    if len(value) == 40 and not os.path.exists(value):
        return check_key('--curve-server-key', value.encode())
    try:
        with open(value, 'rb') as f:
            lines = [l.strip() for l in f if l.strip() and not l.strip().startswith(b'#')]
    except OSError as error:
        fail('--curve-server-key %s: %s' % (value, error))
    if len(lines) == 1 and len(lines[0]) == 40:
        return check_key(value, lines[0])
    # A key file: pyzmq reads its public-key line (a pair's file works too).
    public, _ = zmq.auth.load_certificate(value)
    return check_key(value + ': public-key', public)


def take(argv):
    """Splits the CURVE flags off argv: (the other arguments, options or None for plain TCP)."""
    rest, given = [], {}
    i = 0
    while i < len(argv):
        if argv[i] in FLAGS:
            if i + 1 >= len(argv):
                fail('%s needs a value' % argv[i])
            given[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if not given:
        return rest, None
    if '--curve-server-key' not in given:
        fail('CURVE needs --curve-server-key (the server\'s public key)')
    serverkey = server_key(given['--curve-server-key'])
    if '--curve-secret-key-file' in given:
        public, secret = read_pair(given['--curve-secret-key-file'])
    elif '--curve-secret-key' in given:
        secret = check_key('--curve-secret-key', given['--curve-secret-key'].encode())
        public = zmq.curve_public(secret)
        if '--curve-public-key' in given and given['--curve-public-key'].encode() != public:
            fail('--curve-public-key does not belong to --curve-secret-key')
    elif '--curve-public-key' in given:
        fail('--curve-public-key needs --curve-secret-key')
    else:
        public, secret = zmq.curve_keypair()
    return rest, {'serverkey': serverkey, 'publickey': public, 'secretkey': secret}


def apply(sock, options):
    """Makes sock a CURVE client; must come before connect (the handshake starts there)."""
    if options is None:
        return
    sock.curve_serverkey = options['serverkey']
    sock.curve_publickey = options['publickey']
    sock.curve_secretkey = options['secretkey']


if __name__ == '__main__':
    if len(sys.argv) != 2:
        fail('usage: steward_curve.py KEY_FILE')
    public, _ = read_pair(sys.argv[1])
    print(public.decode())
