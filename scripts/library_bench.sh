#!/usr/bin/env bash
# The library benchmark (BENCHMARKS.md, "User library"): starts a release build of linernotes on a fresh
# database on the local PostgreSQL (loopback only), fills it with scripts/library_benchgen.sql (1,000 users,
# 1,000,000 plays, 10,000 playlists, one with 5,000 items), runs target/release/linernotes-librarybench
# against its HTTP API, then stops the server and drops the database (also when interrupted).
#
# Usage: cargo build --release && scripts/library_bench.sh [extra linernotes-librarybench arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

PGURL_ADMIN="${LINERNOTES_BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="linernotes_librarybench_$$"
DBURL="${PGURL_ADMIN%/*}/$DB"
HTTP_PORT="${LINERNOTES_BENCH_HTTP_PORT:-18480}"
GRPC_PORT="${LINERNOTES_BENCH_GRPC_PORT:-18481}"
SERVER_PID=""

cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  psql -q "$PGURL_ADMIN" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

export LINERNOTES__DATABASE__URL="$DBURL"
export LINERNOTES__DATABASE__MAX_CONNECTIONS="${LINERNOTES_BENCH_POOL:-16}"
export LINERNOTES__SERVER__HTTP_ADDR="127.0.0.1:$HTTP_PORT"
export LINERNOTES__SERVER__GRPC_ADDR="127.0.0.1:$GRPC_PORT"
# No upstream is needed: every track of the benchmark is in the database. Port 9 (discard) on loopback.
export LINERNOTES__PROVIDERS__MUSICBRAINZ__BASE_URL="http://127.0.0.1:9/ws/2"
export LINERNOTES__LOGGING__LEVEL="warn"

target/release/linernotes serve &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null

echo "filling $DB (1,000 users, 1,000,000 plays, 10,000 playlists)..." >&2
start=$(date +%s)
psql -q -v ON_ERROR_STOP=1 -f scripts/library_benchgen.sql "$DBURL"
echo "filled in $(( $(date +%s) - start )) s" >&2

target/release/linernotes-librarybench --http "http://127.0.0.1:$HTTP_PORT" --database-url "$DBURL" "$@"
