#!/usr/bin/env bash
# Where a hot read's CPU goes: a release build with line tables, the fixtures' largest artist primed,
# h2load driving one lookup (gRPC or HTTP) while `perf record` samples the server; prints the functions
# that took the most samples (self time, and with their callees).
# Usage: scripts/profile_reads.sh [grpc|http]   (knobs: REQUESTS (200000), H2LOAD ("-c 8 -m 16 -t 1"),
# FIXTURES (../shared/fixtures/musicbrainz), TOP (40), CACHE (on; off profiles the database-first read))
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin linernotes
source scripts/bench_lib.sh
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
TRANSPORT=${1:-grpc}
REQUESTS=${REQUESTS:-200000}
H2LOAD=${H2LOAD:--c 8 -m 16 -t 1}
TOP=${TOP:-40}
FIXTURES=${FIXTURES:-../shared/fixtures/musicbrainz}
ARTIST=db92a151-1ac2-438b-bc43-b82e149ddd50

start_mock --fixtures "$FIXTURES"
if [ "${CACHE:-on}" = off ]; then start_server LINERNOTES__CACHE__MEMORY_BYTES=0; else start_server; fi
curl -fsS "http://127.0.0.1:$http_port/v1/artists/musicbrainz:$ARTIST" >/dev/null
python3 -c "import sys; i=sys.argv[1].encode(); m=b'\x0a'+bytes([len(i)])+i; open(sys.argv[2],'wb').write(b'\0'+len(m).to_bytes(4,'big')+m)" \
  "musicbrainz:$ARTIST" "$work/artist.bin"

perf record -F 1999 -g --call-graph dwarf,16384 -p "$server_pid" -o "$work/perf.data" >/dev/null 2>&1 &
perf_pid=$!
# shellcheck disable=SC2086
if [ "$TRANSPORT" = grpc ]; then
  h2load -n "$REQUESTS" $H2LOAD -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/artist.bin" \
    "http://127.0.0.1:$grpc_port/linernotes.v1.MetadataService/GetArtist" | grep -E "^(finished|requests)"
else
  h2load -n "$REQUESTS" $H2LOAD "http://127.0.0.1:$http_port/v1/artists/musicbrainz:$ARTIST" |
    grep -E "^(finished|requests)"
fi
kill -INT "$perf_pid"
wait "$perf_pid" 2>/dev/null || true
# Kept for questions the summary does not answer, e.g. who calls a hot function:
#   perf report -i target/profile/perf.data --no-children -S memmove -G
mkdir -p target/profile
cp "$work/perf.data" target/profile/perf.data
summary() { perf report -i target/profile/perf.data "$@" --sort symbol --stdio -g none 2>/dev/null |
  grep -E '^ +[0-9]' | sed -E 's/ +/ /g; s/ - -$//' | head -n "$TOP"; }
echo "--- self time"
summary --no-children
echo "--- with callees"
summary --children
