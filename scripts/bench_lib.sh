# Shared pieces of the benchmark scripts (sourced, not run): a fresh database, a release server on free
# loopback ports, loadgen runs with a one-line summary, and cleanup on exit (also on failure or Ctrl-C).
# Every wait is bounded. Knobs (environment): DURATION (10s), WARMUP (2s), CONNECTIONS (4),
# CONCURRENCY (32), PGURL (postgres://postgres@127.0.0.1:5432), JSON_DIR (keep --json summaries there),
# SERVER_CPUS and LOADGEN_CPUS (pin the server and loadgen to these CPUs with taskset, e.g. 0 and 1,
# so that they do not take turns on the same core; unset: the scheduler places both).

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-4}
CONCURRENCY=${CONCURRENCY:-32}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}

work=$(mktemp -d)
db="linernotes_bench_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')"
mock_pid="" server_pid=""

cleanup() {
  set +e
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    # Graceful shutdown takes at most server.shutdown_grace_secs (10 s by default).
    for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [ -n "$mock_pid" ]; then
    kill -TERM "$mock_pid" 2>/dev/null
    wait "$mock_pid" 2>/dev/null
  fi
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 tenths of a second for the command in $1 to succeed.
wait_for() {
  for _ in $(seq "$2"); do
    if eval "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "benchmark: timed out waiting for: $1" >&2
  return 1
}

# Starts the mock MusicBrainz; sets mock_port.
start_mock() {
  python3 scripts/mock_musicbrainz.py --port-file "$work/mock.port" "$@" &
  mock_pid=$!
  wait_for "test -s '$work/mock.port'" 100
  mock_port=$(cat "$work/mock.port")
}

# Starts the release server (or $LINERNOTES_BIN) on the benchmark database with extra environment "$@" (NAME=value …);
# sets grpc_port and http_port. The provider points at the mock when one runs, else nowhere.
start_server() {
  grpc_port=$(free_port)
  http_port=$(free_port)
  # Its local files (the search index) live in the run's own folder, removed with it.
  env LINERNOTES__DATABASE__URL="$PGURL/$db" \
    LINERNOTES__DATA_DIR="$work/data" \
    LINERNOTES__SERVER__GRPC_ADDR="127.0.0.1:$grpc_port" \
    LINERNOTES__SERVER__HTTP_ADDR="127.0.0.1:$http_port" \
    LINERNOTES__PROVIDERS__MUSICBRAINZ__BASE_URL="http://127.0.0.1:${mock_port:-9}/ws/2" \
    LINERNOTES__PROVIDERS__MUSICBRAINZ__CONTACT="bench@linernotes.invalid" \
    LINERNOTES__AUTH__JWT_SECRET="benchmark-signing-key-of-at-least-32-bytes" \
    LINERNOTES__LOGGING__LEVEL=warn \
    "$@" ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} "${LINERNOTES_BIN:-target/release/linernotes}" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  if ! wait_for "curl -fsS http://127.0.0.1:$http_port/readyz" 600; then
    cat "$work/server.log" >&2
    exit 1
  fi
}

# Runs loadgen with the common options plus "$@", prints its summary, keeps the JSON in $work/$1.json.
drive() {
  local name=$1
  shift
  ${LOADGEN_CPUS:+taskset -c "$LOADGEN_CPUS"} target/release/loadgen --addr "http://127.0.0.1:$grpc_port" --connections "$CONNECTIONS" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" --json "$@" >"$work/$name.json"
  python3 - "$name" "$work/$name.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
s = json.load(open(path))
lat = s["latency_ms"] or {}
line = (f"{name:<22} {s['requests']:>8} req  {s['successes']:>8} ok  {s['throughput']:>9.1f} req/s  "
        + "  ".join(f"{k} {lat[k]:.3f}" for k in ("p50", "p90", "p99", "p999", "max") if k in lat) + " ms")
if s.get("send_lag_ms"):
    lag = s["send_lag_ms"]
    line += f"  (send lag p50 {lag['p50']:.3f} p99 {lag['p99']:.3f} ms)"
if s["errors"]:
    line += f"  errors {s['errors']}"
print(line)
PY
  if [ -n "${JSON_DIR:-}" ]; then mkdir -p "$JSON_DIR" && cp "$work/$name.json" "$JSON_DIR/"; fi
}

# The throughput of a finished drive.
throughput() {
  python3 -c "import json; print(json.load(open('$work/$1.json'))['throughput'])"
}

# Runs h2load (REQUESTS requests, options $H2LOAD, pinned to LOAD_CPUS if set) with "$@"; prints
# "name req/s" with the mean and longest time for a request, and keeps its output in
# $work/$name.h2load. Every request must succeed.
load() {
  local name=$1
  shift
  # shellcheck disable=SC2086
  ${LOAD_CPUS:+taskset -c "$LOAD_CPUS"} h2load -n "$REQUESTS" $H2LOAD "$@" >"$work/$name.h2load" 2>&1 || {
    cat "$work/$name.h2load" >&2
    exit 1
  }
  local rate ok times
  rate=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$work/$name.h2load")
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$work/$name.h2load")
  [ "$ok" = "$REQUESTS" ] || { cat "$work/$name.h2load" >&2; echo "$name: $ok of $REQUESTS succeeded" >&2; exit 1; }
  echo "$rate" >"$work/$name.rate"
  # "time for request:  min  max  mean  sd  +/- sd"
  times=$(awk '/^time for request:/ {print "mean " $6 "  max " $5}' "$work/$name.h2load")
  printf '%-26s %10.0f req/s  %s\n' "$name" "$rate" "$times"
}
rate() { cat "$work/$1.rate"; }
ratio() { python3 -c "print(f'{$(rate "$1") / $(rate "$2"):.2f}')"; }
