#!/usr/bin/env bash
# Checks the running API against its own OpenAPI description with schemathesis: a fresh database, a
# linernotes built from this checkout with the mock MusicBrainz of the benchmarks, an admin created
# with the CLI and logged in, then every operation of /openapi.json called with generated requests
# (a bearer token on every call, so routes that need one get past it). A check fails on any 5xx but
# a documented 503, a status, content type or body that the description does not list for the
# operation, or an error body not in the error shape. Exits non-zero on any failure.
#
# Run it after changing the API: ./scripts/schemathesis.sh
# Knobs (environment): EXAMPLES (examples per operation and phase, 25), SEED (42), PROFILE (debug or
# release, debug), WORKERS (2), PGURL; extra arguments go to `schemathesis run` (e.g.
# --include-path-regex '^/v1/me').
# schemathesis (PyPI, pinned below) is installed into target/schemathesis-venv on the first run; the
# report (JUnit XML) is written to target/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES=${EXAMPLES:-25}
SEED=${SEED:-42}
PROFILE=${PROFILE:-debug}
WORKERS=${WORKERS:-2}

venv=target/schemathesis-venv
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)
if [ "$installed" != "$SCHEMATHESIS_VERSION" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ "$PROFILE" = release ]; then
  cargo build --release --locked --bin linernotes
else
  cargo build --locked --bin linernotes
fi
export LINERNOTES_BIN="target/$PROFILE/linernotes"

source scripts/bench_lib.sh
# The recorded MusicBrainz answers when they are at hand (the shared fixtures beside the checkout),
# else the mock's made-up artists.
if [ -d ../shared/fixtures/musicbrainz ]; then
  start_mock --fixtures ../shared/fixtures/musicbrainz
else
  start_mock
fi
# Cheap password hashes (generated bodies register and log in often), throttles and a MusicBrainz rate
# that a run does not reach, and no enrichers (they would reach for the internet in the background):
# settings, not what is checked.
start_server \
  LINERNOTES__PROVIDERS__MUSICBRAINZ__REQUESTS_PER_SECOND=1000 \
  LINERNOTES__PROVIDERS__COVERARTARCHIVE__ENABLED=false \
  LINERNOTES__PROVIDERS__WIKIDATA__ENABLED=false \
  LINERNOTES__PROVIDERS__WIKIPEDIA__ENABLED=false \
  LINERNOTES__PROVIDERS__DEEZER__ENABLED=false \
  LINERNOTES__PROVIDERS__ITUNES__ENABLED=false \
  LINERNOTES__AUTH__ARGON2__MEMORY_KIB=64 \
  LINERNOTES__AUTH__ARGON2__ITERATIONS=1 \
  LINERNOTES__AUTH__THROTTLE__IP_MAX_FAILURES=100000 \
  LINERNOTES__AUTH__THROTTLE__IP_MAX_ACCOUNT_REQUESTS=100000 \
  LINERNOTES__AUTH__THROTTLE__ACCOUNT_MAX_FAILURES=100000 \
  LINERNOTES__LOGGING__LEVEL=error
base="http://127.0.0.1:$http_port"

admin_password="schemathesis-admin-password"
echo "$admin_password" | LINERNOTES__DATABASE__URL="$PGURL/$db" "$LINERNOTES_BIN" users create-admin \
  --email admin@schemathesis.invalid >/dev/null
token=$(curl -fsS "$base/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\": \"admin@schemathesis.invalid\", \"password\": \"$admin_password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

mkdir -p target/schemathesis
status=0
"$venv/bin/st" --config-file scripts/schemathesis.toml run "$base/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --workers "$WORKERS" \
  --request-timeout 30 \
  --generation-database none \
  --report junit --report-dir target/schemathesis \
  --no-color \
  "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures; the server's log:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
