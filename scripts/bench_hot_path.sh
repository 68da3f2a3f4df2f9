#!/usr/bin/env bash
# gRPC hot-path throughput and latency with the loadgen binary, in one run on one machine:
#   1. starts a mock MusicBrainz and a release build of linernotes on a fresh database;
#   2. primes one artist over HTTP (so GetArtist is answered from the in-process hot cache);
#   3. drives grpc.health.v1.Health/Check and then GetArtist of that artist as fast as possible, prints
#      their ratio, then drives GetArtist at a fixed rate of half the throughput just measured;
#   4. stops the server and the mock and drops the database (also on failure or Ctrl-C).
# Usage: scripts/bench_hot_path.sh   (knobs: see scripts/bench_lib.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bins
source scripts/bench_lib.sh
MBID=5b11f4ce-a62d-471e-81fc-a69a8278c7da

start_mock
start_server
curl -fsS "http://127.0.0.1:$http_port/v1/artists/musicbrainz:$MBID" >/dev/null
echo "primed musicbrainz:$MBID"

echo "loadgen: $CONNECTIONS connections, $CONCURRENCY in flight, $WARMUP warm-up, $DURATION measured"
drive health_max --method /grpc.health.v1.Health/Check --data '{}'
drive get_artist_max --method /linernotes.v1.MetadataService/GetArtist \
  --data "{\"id\":\"musicbrainz:$MBID\"}"
python3 -c "print(f'GetArtist / Health.Check throughput: {$(throughput get_artist_max) / $(throughput health_max):.2f}')"
half=$(python3 -c "print(max(1, round($(throughput get_artist_max) / 2)))")
drive "get_artist_rate_$half" --method /linernotes.v1.MetadataService/GetArtist \
  --data "{\"id\":\"musicbrainz:$MBID\"}" --rate "$half"
