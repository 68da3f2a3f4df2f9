#!/usr/bin/env bash
# Reads against their ceiling, in one sitting, with h2load (Debian's nghttp2-client) as the load:
#   1. a mock MusicBrainz serving the fixtures' recorded lookups, a release build of linernotes on a fresh
#      database, the fixtures' largest artist and release primed into the hot cache;
#   2. for each size answered (the artist's and the release's protobuf and JSON), the `ceiling` tool
#      answering that many fixed bytes over the same server code;
#   3. ROUNDS rounds, alternating: Health/Check, the gRPC ceiling and GetArtist, the ceiling and
#      GetRelease, /healthz, the HTTP ceiling and /v1/artists, the ceiling and /v1/releases; each ratio;
#   4. latency at a fixed rate (loadgen, open loop): the gRPC ceiling and hot GetArtist, each at half of
#      GetArtist's h2load throughput, LATENCY_DURATION each; the ratio of their p99;
#   5. linernotes restarted with the in-process cache off: GetArtist and GetRelease from the database,
#      next to pgbench running the same statement on the same rows (scripts/pgbench/find_*.sql);
#   6. cleanup (also on failure or Ctrl-C).
# Usage: scripts/bench_ceiling.sh
# Knobs: REQUESTS (60000 per run), H2LOAD ("-c 8 -m 16 -t 1"), ROUNDS (3), DB_SECONDS (8), PGBENCH_CLIENTS
# (8), LATENCY_DURATION (10s), FIXTURES (../shared/fixtures/musicbrainz), SERVER_CPUS / LOAD_CPUS (pin with taskset, e.g. 0 / 1),
# BIN_DIR (binaries of another build to measure instead of this checkout's, e.g. an earlier commit's:
# nothing is built then).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BIN_DIR:-}" ]; then
  export LINERNOTES_BIN="$BIN_DIR/linernotes"
else
  cargo build --release --quiet --bins
fi
source scripts/bench_lib.sh
command -v h2load >/dev/null || { echo "h2load is missing: apt-get install nghttp2-client" >&2; exit 1; }

REQUESTS=${REQUESTS:-60000}
H2LOAD=${H2LOAD:--c 8 -m 16 -t 1}
ROUNDS=${ROUNDS:-3}
DB_SECONDS=${DB_SECONDS:-8}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-8}
FIXTURES=${FIXTURES:-../shared/fixtures/musicbrainz}
ARTIST=db92a151-1ac2-438b-bc43-b82e149ddd50   # the fixtures' largest artist lookup
RELEASE=3ac4a81e-8106-4858-bce0-f7a78c6354b0  # the fixtures' largest release lookup (13 tracks)
ceiling_pids=()

stop_ceilings() {
  for pid in "${ceiling_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${ceiling_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_ceilings; cleanup' EXIT

# A gRPC request frame (no compression, 4-byte length, the message) in file $1 for message bytes $2 (hex).
grpc_frame() {
  python3 - "$1" "$2" <<'PY'
import sys
path, message = sys.argv[1], bytes.fromhex(sys.argv[2])
open(path, "wb").write(b"\0" + len(message).to_bytes(4, "big") + message)
PY
}
# The protobuf of GetEntityRequest{id: $1}, as hex.
get_request() {
  python3 -c "import sys; i=sys.argv[1].encode(); print((b'\x0a'+bytes([len(i)])+i).hex())" "$1"
}

grpc_load() { # name port method frame-file
  load "$1" -H 'content-type: application/grpc' -H 'te: trailers' -d "$4" "http://127.0.0.1:$2$3"
}

start_mock --fixtures "$FIXTURES"
start_server
curl -fsS "http://127.0.0.1:$http_port/v1/artists/musicbrainz:$ARTIST" -o "$work/artist.json"
curl -fsS "http://127.0.0.1:$http_port/v1/releases/musicbrainz:$RELEASE" -o "$work/release.json"
grpc_frame "$work/health.bin" ""
grpc_frame "$work/artist.bin" "$(get_request "musicbrainz:$ARTIST")"
grpc_frame "$work/release.bin" "$(get_request "musicbrainz:$RELEASE")"

# The sizes of the answers: JSON from the files; protobuf from one gRPC call each (data less the
# 5-byte frame header).
h2load -n 1 -c 1 -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/artist.bin" \
  "http://127.0.0.1:$grpc_port/linernotes.v1.MetadataService/GetArtist" >"$work/size.artist"
h2load -n 1 -c 1 -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/release.bin" \
  "http://127.0.0.1:$grpc_port/linernotes.v1.MetadataService/GetRelease" >"$work/size.release"
pb_size() { echo $(( $(sed -n 's/^traffic: .* (\([0-9]*\)) data.*/\1/p' "$1") - 5 )); }
artist_pb=$(pb_size "$work/size.artist")
release_pb=$(pb_size "$work/size.release")
artist_json=$(wc -c <"$work/artist.json")
release_json=$(wc -c <"$work/release.json")
echo "answers: artist $artist_pb B protobuf, $artist_json B JSON; release $release_pb B protobuf, $release_json B JSON"

# One ceiling per answer size; ports in $work/ceiling.<size>.{grpc,http}.
for size in "$artist_pb" "$release_pb" "$artist_json" "$release_json"; do
  g=$(free_port) h=$(free_port)
  ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} "${BIN_DIR:-target/release}/ceiling" --bytes "$size" \
    --grpc-addr "127.0.0.1:$g" --http-addr "127.0.0.1:$h" >"$work/ceiling.$size.log" 2>&1 &
  ceiling_pids+=($!)
  echo "$g" >"$work/ceiling.$size.grpc"
  echo "$h" >"$work/ceiling.$size.http"
  wait_for "curl -fsS http://127.0.0.1:$h/" 100
done
cg() { cat "$work/ceiling.$1.grpc"; }
ch() { cat "$work/ceiling.$1.http"; }

echo "h2load $H2LOAD, $REQUESTS requests a run"
for round in $(seq "$ROUNDS"); do
  echo "--- round $round"
  grpc_load health "$grpc_port" /grpc.health.v1.Health/Check "$work/health.bin"
  grpc_load ceiling_grpc_artist "$(cg "$artist_pb")" /linernotes.v1.MetadataService/GetArtist "$work/artist.bin"
  grpc_load grpc_get_artist "$grpc_port" /linernotes.v1.MetadataService/GetArtist "$work/artist.bin"
  grpc_load ceiling_grpc_release "$(cg "$release_pb")" /linernotes.v1.MetadataService/GetArtist "$work/release.bin"
  grpc_load grpc_get_release "$grpc_port" /linernotes.v1.MetadataService/GetRelease "$work/release.bin"
  load healthz "http://127.0.0.1:$http_port/healthz"
  load ceiling_http_artist "http://127.0.0.1:$(ch "$artist_json")/"
  load http_get_artist "http://127.0.0.1:$http_port/v1/artists/musicbrainz:$ARTIST"
  load ceiling_http_release "http://127.0.0.1:$(ch "$release_json")/"
  load http_get_release "http://127.0.0.1:$http_port/v1/releases/musicbrainz:$RELEASE"
  echo "ratios: gRPC artist $(ratio grpc_get_artist ceiling_grpc_artist)x, gRPC release" \
    "$(ratio grpc_get_release ceiling_grpc_release)x, HTTP artist $(ratio http_get_artist ceiling_http_artist)x," \
    "HTTP release $(ratio http_get_release ceiling_http_release)x of the ceiling;" \
    "ceiling/Health.Check $(ratio ceiling_grpc_artist health)x"
done

echo "--- latency at a fixed rate: half of hot GetArtist's h2load throughput (loadgen, open loop)"
half=$(python3 -c "print(round($(rate grpc_get_artist) / 2))")
fixed_rate() { # name port
  local own_port=$grpc_port
  grpc_port=$2
  DURATION=${LATENCY_DURATION:-10s} drive "$1" --method /linernotes.v1.MetadataService/GetArtist \
    --data "{\"id\":\"musicbrainz:$ARTIST\"}" --rate "$half"
  grpc_port=$own_port
}
fixed_rate "ceiling_p99_at_$half" "$(cg "$artist_pb")"
fixed_rate "grpc_get_artist_p99_at_$half" "$grpc_port"
p99() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['latency_ms']['p99'])" "$work/$1.json"; }
echo "ratio: p99 of GetArtist $(python3 -c "print(f'{$(p99 "grpc_get_artist_p99_at_$half") / $(p99 "ceiling_p99_at_$half"):.2f}')")x" \
  "the ceiling's at $half req/s"
stop_ceilings
ceiling_pids=()

echo "--- database first (in-process cache off), next to pgbench of the same statement"
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
start_server LINERNOTES__CACHE__MEMORY_BYTES=0
for kind in artist release; do
  if [ "$kind" = artist ]; then mbid=$ARTIST method=GetArtist; else mbid=$RELEASE method=GetRelease; fi
  grpc_load "db_first_$kind" "$grpc_port" "/linernotes.v1.MetadataService/$method" "$work/$kind.bin"
  ${LOAD_CPUS:+taskset -c "$LOAD_CPUS"} pgbench -n -M prepared -c "$PGBENCH_CLIENTS" -j 1 -T "$DB_SECONDS" \
    -D "mbid=$mbid" -f "scripts/pgbench/find_$kind.sql" "$PGURL/$db" >"$work/pgbench.$kind" 2>&1 ||
    { cat "$work/pgbench.$kind" >&2; exit 1; }
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.$kind")
  echo "$tps" >"$work/pgbench_$kind.rate"
  printf '%-26s %10.0f tx/s\n' "pgbench_$kind" "$tps"
  echo "ratio: database-first $kind $(ratio "db_first_$kind" "pgbench_$kind")x of pgbench"
done
