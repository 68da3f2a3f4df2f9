#!/usr/bin/env bash
# A Lidarr library refresh against /v1 reads of the same artists, per entity, with h2load (Debian's
# nghttp2-client) as the load:
#   1. the mock MusicBrainz answering any artist with a made-up one that has ALBUMS release groups
#      (browsed 100 a page), a release build of linernotes on a fresh database;
#   2. ARTISTS artists primed once through Lidarr's route (each artist and its whole album list
#      fetched and stored), then read once through /v1;
#   3. ROUNDS rounds, alternating: `GET /api/v0.4/artist/{mbid}` for every artist in turn (what a
#      Lidarr refresh sends: one artist with its complete album list), then `GET /v1/artists/{id}`
#      of the same artists; req/s, mean and longest time per request, and the ratio;
#   4. linernotes restarted with the in-process cache off: the same pair from the database;
#   5. cleanup (also on failure or Ctrl-C).
# Usage: scripts/bench_skyhook.sh
# Knobs: ARTISTS (200), ALBUMS (250 release groups per artist), REQUESTS (20000 per run), H2LOAD
# ("-c 8 -m 16 -t 1"), ROUNDS (3), SERVER_CPUS / LOAD_CPUS (pin with taskset, e.g. 0 / 1), BIN_DIR
# (binaries of another build to measure instead of this checkout's: nothing is built then); the rest
# as in scripts/bench_lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BIN_DIR:-}" ]; then
  export LINERNOTES_BIN="$BIN_DIR/linernotes"
else
  cargo build --release --quiet -p linernotes
fi
source scripts/bench_lib.sh
command -v h2load >/dev/null || { echo "h2load is missing: apt-get install nghttp2-client" >&2; exit 1; }

ARTISTS=${ARTISTS:-200}
ALBUMS=${ALBUMS:-250}
REQUESTS=${REQUESTS:-20000}
H2LOAD=${H2LOAD:--c 8 -m 16 -t 1}
ROUNDS=${ROUNDS:-3}
# The mock answers at once, so linernotes may ask it as fast as it likes while priming; the
# enrichers stay off (they would ask the real services).
FAST_UPSTREAM=(LINERNOTES__PROVIDERS__MUSICBRAINZ__REQUESTS_PER_SECOND=1000)
for provider in COVERARTARCHIVE WIKIDATA WIKIPEDIA DEEZER ITUNES LRCLIB; do
  FAST_UPSTREAM+=("LINERNOTES__PROVIDERS__${provider}__ENABLED=false")
done

start_mock --albums "$ALBUMS"
start_server "${FAST_UPSTREAM[@]}"
base="http://127.0.0.1:$http_port"

# Artist MBIDs differ in their first 24 characters, of which the mock makes its album MBIDs.
for i in $(seq "$ARTISTS"); do printf '%08x-0000-4000-8000-000000000000\n' "$i"; done >"$work/artists"
sed "s|^|$base/api/v0.4/artist/|" "$work/artists" >"$work/lidarr.uris"
sed "s|^|$base/v1/artists/musicbrainz:|" "$work/artists" >"$work/v1.uris"

started=$(date +%s.%N)
while read -r uri; do
  # A first read of a large artist may answer 503 while its list is still being browsed.
  wait_for "curl -fsS -o /dev/null '$uri'" 600
done <"$work/lidarr.uris"
while read -r uri; do curl -fsS -o /dev/null "$uri"; done <"$work/v1.uris"
echo "primed $ARTISTS artists with $ALBUMS albums each in $(echo "$(date +%s.%N) - $started" | bc) s"
curl -fsS "$(head -1 "$work/lidarr.uris")" -o "$work/lidarr.json"
curl -fsS "$(head -1 "$work/v1.uris")" -o "$work/v1.json"
echo "answers: Lidarr artist $(wc -c <"$work/lidarr.json") B, /v1 artist $(wc -c <"$work/v1.json") B"

pair() { # suffix
  load "lidarr_artist$1" -i "$work/lidarr.uris"
  load "v1_artist$1" -i "$work/v1.uris"
  echo "ratio: Lidarr refresh $(ratio "lidarr_artist$1" "v1_artist$1")x of /v1 reads"
}

echo "h2load $H2LOAD, $REQUESTS requests a run over $ARTISTS artists"
for round in $(seq "$ROUNDS"); do
  echo "--- round $round (hot cache)"
  pair ""
done

echo "--- database first (in-process cache off)"
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
start_server "${FAST_UPSTREAM[@]}" LINERNOTES__CACHE__MEMORY_BYTES=0
base_old=$base
base="http://127.0.0.1:$http_port"
sed -i "s|$base_old|$base|" "$work/lidarr.uris" "$work/v1.uris"
pair "_db"
