#!/usr/bin/env bash
# Database-first GetArtist (in-process hot cache off) next to the same SELECTs run by pgbench:
#   1. a fresh database, migrated, with 100,000 synthetic artists (scripts/prefill_artists.sql);
#   2. a release server with cache.memory_bytes=0, driven with loadgen on GetArtist of one artist;
#   3. pgbench running exactly the statements of that GetArtist (scripts/pgbench_find_artist.sql, kept
#      identical to the service's SQL by a unit test) with as many clients as loadgen keeps in flight;
#   4. cleanup (also on failure or Ctrl-C).
# Usage: scripts/bench_db_first.sh   (knobs: see scripts/bench_lib.sh; COUNT=100000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bins
source scripts/bench_lib.sh
COUNT=${COUNT:-100000}

LINERNOTES__DATABASE__URL="$PGURL/$db" target/release/linernotes migrate up >/dev/null
psql "$PGURL/$db" -q -v count="$COUNT" -f scripts/prefill_artists.sql >/dev/null
echo "prefilled $COUNT artists"

start_server LINERNOTES__CACHE__MEMORY_BYTES=0
echo "loadgen: $CONNECTIONS connections, $CONCURRENCY in flight, $WARMUP warm-up, $DURATION measured"
drive db_first_get_artist --method /linernotes.v1.MetadataService/GetArtist \
  --data '{"id":"musicbrainz:00000000-0000-4000-8000-000000001092"}'

seconds=${DURATION%s}
(cd "$work" && pgbench -n -M prepared -c "$CONCURRENCY" -j 2 -T "$seconds" -l --log-prefix=pgbench \
  -f "$OLDPWD/scripts/pgbench_find_artist.sql" "$PGURL/$db" >pgbench.out 2>&1) ||
  { cat "$work/pgbench.out" >&2; exit 1; }
python3 - "$work" "$seconds" <<'PY'
import glob, sys
work, seconds = sys.argv[1], float(sys.argv[2])
# Each log line: client transaction latency_us script_no epoch_s epoch_us.
lat = sorted(int(line.split()[2]) / 1000 for f in glob.glob(f"{work}/pgbench.*") if not f.endswith(".out")
             for line in open(f))
pick = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))]
print(f"{'pgbench_same_selects':<22} {len(lat):>8} tx   {len(lat) / seconds:>17.1f} tx/s   "
      f"p50 {pick(50):.3f}  p90 {pick(90):.3f}  p99 {pick(99):.3f}  p999 {pick(99.9):.3f}  max {lat[-1]:.3f} ms")
PY
