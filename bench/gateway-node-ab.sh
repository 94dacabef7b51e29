#!/usr/bin/env bash
# The GatewayBackend node on steward's ZMTP DEALER (transport auto) against zeromq.js (transport libzmq),
# A/B behind one gateway each round: wrk -t2 -c50 -d5s after a 2 s warm-up, ROUNDS alternating rounds,
# each side's gateway and node CPU per request read from /proc. Run from the repository root after
# `npm run build && npx tsc -p tsconfig.bench.json`:  bash bench/gateway-node-ab.sh [ROUNDS]
set -euo pipefail
rounds=${1:-3}
peers=dist-bench/bench/peers
command -v wrk >/dev/null || { echo "needs wrk: sh scripts/system-packages.sh bench" >&2; exit 2; }
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq 1 "$rounds"); do
  for transport in auto libzmq; do
    coproc host { exec node "$peers/gateway-host.js" dist; }
    hp=$host_PID
    read -r line <&"${host[0]}"
    http=$(node -e 'console.log(JSON.parse(process.argv[1]).http)' "$line")
    zmq=$(node -e 'console.log(JSON.parse(process.argv[1]).zmq)' "$line")
    node "$peers/gateway-node.js" dist "$zmq" bench1 "$transport" >/dev/null 2>&1 &
    np=$!
    sleep 1.5
    wrk -t2 -c50 -d2s "$http/" >/dev/null
    g0=$(cpu "$hp"); n0=$(cpu "$np")
    out=$(wrk -t2 -c50 -d5s "$http/")
    g1=$(cpu "$hp"); n1=$(cpu "$np")
    reqs=$(echo "$out" | awk '/requests in/{print $1}')
    rate=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    non2xx=$(echo "$out" | awk '/Non-2xx/{print $NF}')
    awk -v r="$round" -v t="$transport" -v rate="$rate" -v g=$((g1 - g0)) -v n=$((n1 - n0)) -v q="$reqs" -v k="$tck" -v bad="${non2xx:-0}" \
      'BEGIN { printf "round %s %-6s %8.0f req/s; gateway %.1f us/req, node %.1f us/req; non-2xx %s\n", r, t, rate, g * 1e6 / k / q, n * 1e6 / k / q, bad }'
    kill "$np" "$hp"
    wait "$np" "$hp" 2>/dev/null || true
  done
done
