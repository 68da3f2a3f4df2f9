#!/usr/bin/env bash
# Checks linernotes' MusicBrainz WS/2 API with a real client, beets: a fresh database, a linernotes
# built from this checkout whose MusicBrainz is the mock of the benchmarks serving the bodies
# scripts/beets_check.py writes, then beets' own musicbrainz plugin pointed at linernotes
# (`musicbrainz.host`) looks up an album and a track by ID, searches album and singleton candidates,
# and hears an unknown ID as nothing found. Exits non-zero on any failure.
#
# Run it after changing /ws/2: ./scripts/beets.sh
# Knobs (environment): PROFILE (debug or release, debug), PGURL.
# beets (PyPI, pinned below: its inc lists change between releases) is installed into
# target/beets-venv on the first run; Debian needs python3-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

BEETS_VERSION=2.14.1
PROFILE=${PROFILE:-debug}

venv=target/beets-venv
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("beets"))' 2>/dev/null || true)
if [ "$installed" != "$BEETS_VERSION" ]; then
  echo "installing beets $BEETS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "beets==$BEETS_VERSION"
fi

if [ "$PROFILE" = release ]; then
  cargo build --release --locked --bin linernotes
else
  cargo build --locked --bin linernotes
fi
export LINERNOTES_BIN="target/$PROFILE/linernotes"

source scripts/bench_lib.sh
python3 scripts/beets_check.py bodies "$work/bodies"
start_mock --fixtures "$work/bodies"
start_server \
  LINERNOTES__PROVIDERS__MUSICBRAINZ__REQUESTS_PER_SECOND=1000 \
  LINERNOTES__PROVIDERS__COVERARTARCHIVE__ENABLED=false \
  LINERNOTES__PROVIDERS__WIKIDATA__ENABLED=false \
  LINERNOTES__PROVIDERS__WIKIPEDIA__ENABLED=false \
  LINERNOTES__PROVIDERS__DEEZER__ENABLED=false \
  LINERNOTES__PROVIDERS__ITUNES__ENABLED=false \
  LINERNOTES__LOGGING__LEVEL=error

status=0
HOME="$work" "$venv/bin/python" scripts/beets_check.py check "127.0.0.1:$http_port" || status=$?
if [ "$status" -ne 0 ]; then
  echo "beets found failures; the server's log:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
