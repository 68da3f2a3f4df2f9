#!/usr/bin/env bash
# End-to-end dump import next to the raw COPY rate of the same rows, on this machine:
#   1. tools/dumpgen writes a dump of ARTISTS artists (the other types in the real dump's proportions);
#   2. `linernotes import musicbrainz` loads it into a fresh database under /usr/bin/time (wall time, peak
#      memory of the importer), with --memory-limit MEMORY;
#   3. every imported table is copied out to a file and COPY'd back into an empty unindexed table: the
#      rate PostgreSQL itself sustains for exactly these rows, without decompression or JSON;
#   4. plain decompression of the archives (xz -dc), the floor of streaming them;
#   5. cleanup of the database and files (also on failure or Ctrl-C).
# Usage: scripts/bench_import.sh   (ARTISTS=100000 MEMORY=4GiB PGURL=postgres://postgres@127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
ARTISTS=${ARTISTS:-100000}
MEMORY=${MEMORY:-4GiB}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
cargo build --release --quiet -p linernotes -p dumpgen
work=$(mktemp -d)
db="linernotes_bench_import_$$"
cleanup() {
  psql "$PGURL/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

target/release/dumpgen --out "$work/dump" --artists "$ARTISTS"
du -b "$work"/dump/*.tar.xz | awk '{s+=$1} END {printf "compressed: %.1f MB\n", s/1e6}'

start=$(date +%s.%N)
for f in "$work"/dump/*.tar.xz; do xz -dc "$f" >/dev/null; done
end=$(date +%s.%N)
echo "xz -dc of every archive: $(echo "$end - $start" | bc) s"

psql "$PGURL/postgres" -q -c "CREATE DATABASE $db" >/dev/null
export LINERNOTES__DATABASE__URL="$PGURL/$db"
target/release/linernotes migrate up >/dev/null
/usr/bin/time -f "import: %e s wall, %M KiB peak RSS" \
  target/release/linernotes import musicbrainz "$work/dump" --memory-limit "$MEMORY" 2>"$work/import.log" ||
  { tail -20 "$work/import.log" >&2; exit 1; }
grep -E "^import:|archive loaded" "$work/import.log" | sed 's/^.*INFO //'

rows=$(psql "$PGURL/$db" -At -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE relname IN
  ('entity','artist','album','release','medium','release_track','release_label','track','label',
   'artist_credit','alias','entity_tag','url_relation','external_id')")
echo "rows imported: $rows"

# Raw COPY of the same rows into unindexed copies of the tables.
psql "$PGURL/$db" -q -c "CREATE SCHEMA raw_copy" >/dev/null
tables="entity artist album release medium release_track release_label track label artist_credit alias entity_tag url_relation external_id"
for t in $tables; do
  psql "$PGURL/$db" -q -c "CREATE TABLE raw_copy.$t (LIKE public.$t INCLUDING DEFAULTS)" >/dev/null
  psql "$PGURL/$db" -q -c "\\copy public.$t TO '$work/$t.copy'" >/dev/null
done
start=$(date +%s.%N)
for t in $tables; do
  psql "$PGURL/$db" -q -c "\\copy raw_copy.$t FROM '$work/$t.copy'" >/dev/null
done
end=$(date +%s.%N)
secs=$(echo "$end - $start" | bc)
echo "raw COPY of the same $rows rows: $secs s, $(echo "$rows / $secs" | bc) rows/s"
