#!/usr/bin/env bash
# Times the built-in database's start-up: `linernotes serve` with no database configured, from the
# command to /readyz answering 200, on an empty data directory (initdb included) and then on the same
# directory again (the cluster reused), three later starts.
# Usage: scripts/bench_embedded_start.sh [path of the linernotes binary, default target/release/linernotes]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/linernotes}")
DIR=$(mktemp -d /tmp/ln-start-XXXXXX)
chmod 755 "$DIR" # as root, the server's account must be able to enter it
trap 'rm -rf "$DIR"' EXIT
PORT=18735
start() {
  local began=$(date +%s.%N)
  env -u DATABASE_URL LINERNOTES__DATA_DIR="$DIR/data" LINERNOTES__SERVER__HTTP_ADDR=127.0.0.1:$PORT \
    LINERNOTES__SERVER__GRPC_ADDR=127.0.0.1:$((PORT + 1)) LINERNOTES__LOGGING__LEVEL=warn \
    LINERNOTES__PROVIDERS__MUSICBRAINZ__CONTACT=bench@linernotes.invalid "$BIN" serve 2>>"$DIR/log" &
  local pid=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 $pid 2>/dev/null || { cat "$DIR/log"; exit 1; }
    sleep 0.02
  done
  local ready=$(date +%s.%N)
  kill -TERM $pid
  wait $pid
  echo "$1: $(echo "$ready - $began" | bc) s to /readyz"
}
start "first start (initdb)"
for n in 1 2 3; do start "later start $n"; done
