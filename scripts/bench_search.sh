#!/usr/bin/env bash
# Search from the embedded index at size, through gRPC Search with loadgen:
#   1. tools/dumpgen writes ARTISTS artists (and, with RECORDINGS, that many recordings) only;
#   2. `linernotes import musicbrainz` loads them into a fresh database;
#   3. a release server with an on-disk index builds it at start (build time and index size printed);
#   4. loadgen drives Search with an exact name, a typo, a type-ahead prefix and a transliterated
#      query (each DURATION, CONCURRENCY in flight), printing throughput and latency percentiles.
# Usage: scripts/bench_search.sh   (ARTISTS=1000000 RECORDINGS=0; RATE: queries per second on a fixed
# timeline, for latency without queueing (unset: as fast as answered, CONCURRENCY in flight); knobs of
# scripts/bench_lib.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ARTISTS=${ARTISTS:-1000000}
RECORDINGS=${RECORDINGS:-0}
cargo build --release --quiet -p linernotes -p dumpgen -p loadgen
source scripts/bench_lib.sh

only=artist
[ "$RECORDINGS" -gt 0 ] && only=artist,recording
target/release/dumpgen --out "$work/dump" --artists "$ARTISTS" --recordings "$RECORDINGS" --only "$only"
psql "$PGURL/postgres" -qc "CREATE DATABASE \"$db\"" >/dev/null
LINERNOTES__DATABASE__URL="$PGURL/$db" LINERNOTES__LOGGING__LEVEL=warn \
  target/release/linernotes import musicbrainz "$work/dump" | tail -1

started=$(date +%s.%N)
start_server LINERNOTES__SEARCH__INDEX_DIR="$work/index" LINERNOTES__LOGGING__LEVEL=info
wait_for "grep -q 'search index rebuilt.*kind=label' '$work/server.log'" 36000
echo "index built in $(echo "$(date +%s.%N) - $started" | bc) s (server start included)"
grep "search index rebuilt" "$work/server.log" | sed 's/^.*INFO //'
du -sh "$work"/index/* | sed 's/^/index size: /'

drive search_exact --method /linernotes.v1.MetadataService/Search --data '{"query":"Prince","type":"artist","limit":10}' ${RATE:+--rate "$RATE"}
drive search_typo --method /linernotes.v1.MetadataService/Search --data '{"query":"royksop","type":"artist","limit":10}' ${RATE:+--rate "$RATE"}
drive search_prefix --method /linernotes.v1.MetadataService/Search --data '{"query":"mötley cr","type":"artist","limit":10}' ${RATE:+--rate "$RATE"}
drive search_translit --method /linernotes.v1.MetadataService/Search --data '{"query":"kino","type":"artist","limit":10}' ${RATE:+--rate "$RATE"}
if [ "$RECORDINGS" -gt 0 ]; then
  drive search_recording --method /linernotes.v1.MetadataService/Search --data '{"query":"yesterday","type":"track","limit":10}' ${RATE:+--rate "$RATE"}
fi
