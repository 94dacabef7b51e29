#!/bin/sh
# What steward needs beyond npm, found by what it can do rather than by package name, and installed
# from Debian when it can be: `npm test`, `npm run bench` and `npm start` run this first (pre-scripts),
# and .ci/run calls it too.
#
# Usage: scripts/system-packages.sh test|bench|start
#   test   python3-zmq (Python peers), chromium (the inspector's browser test), curl, openssl (gateway tests),
#          procps (pkill, a command the mesh prints), gcc and libzmq3-dev (the C MDP peers' tests),
#          systemd (systemd-analyze, which checks the units in deploy/systemd)
#   bench  nats-server, nginx (nginx-light), wrk (the baselines), gcc and libzmq3-dev (C MDP peers)
#   start  python3-zmq and curl: two of the commands `npm start` prints use them; the mesh itself
#          needs neither, so for start a missing package is a note, not a failure
#
# Run as root where apt-get exists, it installs what is missing (one apt-get update, one apt-get
# install). Otherwise it stops at once with one line naming the command to run, instead of letting
# dozens of tests fail one by one.
#
# Environment (so the check itself can be tested, and for machines laid out differently):
#   STEWARD_PYTHON       the Python probed for `import zmq` (default /usr/bin/python3, which the tests use)
#   STEWARD_CHROMIUM     the browser the inspector test drives (default /usr/bin/chromium)
#   STEWARD_NATS_SERVER  default /usr/sbin/nats-server   (the paths bench/lib uses)
#   STEWARD_NGINX        default /usr/sbin/nginx
#   STEWARD_WRK          default /usr/bin/wrk
#   STEWARD_INSTALL      auto (default: install when root and apt-get is on PATH), yes, or no
# curl, openssl, gcc and systemd-analyze are looked up on PATH.
set -u

profile=${1:-test}
python=${STEWARD_PYTHON:-/usr/bin/python3}
chromium=${STEWARD_CHROMIUM:-/usr/bin/chromium}
nats=${STEWARD_NATS_SERVER:-/usr/sbin/nats-server}
nginx=${STEWARD_NGINX:-/usr/sbin/nginx}
wrk=${STEWARD_WRK:-/usr/bin/wrk}
install=${STEWARD_INSTALL:-auto}

have() { command -v "$1" >/dev/null 2>&1; }

missing=
need() { missing="${missing}${missing:+ }$1"; }

# A C compiler with the libzmq headers (the headers, not the package: any libzmq development install will do).
c_peers() {
  if have gcc; then
    printf '#include <zmq.h>\n' | gcc -E -x c - >/dev/null 2>&1 || need libzmq3-dev
  else
    need gcc
    need libzmq3-dev
  fi
}

probe() {
  missing=
  case $profile in
    test)
      "$python" -c 'import zmq' >/dev/null 2>&1 || need python3-zmq
      [ -x "$chromium" ] || need chromium
      have curl || need curl
      have openssl || need openssl
      # The mesh test runs the pkill line `npm start -- --brokers 2` prints.
      have pkill || need procps
      # The tests of the benchmark's C MDP peers build them, as the benchmark does.
      c_peers
      # The deploy units' test runs systemd-analyze verify (a tool; systemd need not be running).
      have systemd-analyze || need systemd
      ;;
    bench)
      [ -x "$nats" ] || need nats-server
      [ -x "$nginx" ] || need nginx-light
      [ -x "$wrk" ] || need wrk
      c_peers
      ;;
    start)
      "$python" -c 'import zmq' >/dev/null 2>&1 || need python3-zmq
      have curl || need curl
      ;;
    *)
      echo "steward: scripts/system-packages.sh: unknown profile \"$profile\" (give test, bench or start)" >&2
      exit 2
      ;;
  esac
}

is_root() { [ "$(id -u 2>/dev/null)" = 0 ]; }

can_install() {
  case $install in
    yes) have apt-get ;;
    no) return 1 ;;
    auto) is_root && have apt-get ;;
    *)
      echo "steward: STEWARD_INSTALL must be auto, yes or no, got \"$install\"" >&2
      exit 2
      ;;
  esac
}

probe
[ -z "$missing" ] && exit 0

if is_root; then command="apt-get install -y $missing"; else command="sudo apt-get install -y $missing"; fi
what="npm $profile"
[ "$profile" = test ] || [ "$profile" = start ] || what="npm run $profile"

if can_install; then
  echo "steward: $what needs Debian packages that are missing; installing: $missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  # $missing is a list of package names: split on purpose.
  # shellcheck disable=SC2086
  apt-get update -qq && apt-get install -y -qq $missing
  probe
  [ -z "$missing" ] && exit 0
  echo "steward: $what still misses $missing after apt-get install; install by hand: $command" >&2
  exit 1
fi

if [ "$profile" = start ]; then
  echo "steward: note: two of the commands npm start prints need $missing; install with: $command" >&2
  exit 0
fi
echo "steward: $what needs Debian packages that are missing: $missing; install them with: $command" >&2
exit 1
