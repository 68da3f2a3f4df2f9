#!/usr/bin/env bash
# Times `linernotes backup` and `linernotes restore` on a database of 100,000 entities (96,000 artists
# from prefill_artists.sql plus the 4,000 artists and tracks of library_benchgen.sql) and 1,000 users
# with libraries (1,000,000 plays, 10,000 playlists), against the PostgreSQL on 127.0.0.1:5432.
# Usage: scripts/bench_backup.sh [path of the linernotes binary, default target/release/linernotes]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/linernotes}
ADMIN=${LINERNOTES_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SOURCE=linernotes_bench_backup_src
TARGET=linernotes_bench_backup_dst
FILE=$(mktemp -d)/bench.lnbackup
url() { echo "${ADMIN%/*}/$1"; }
drop_databases() {
  for db in $SOURCE $TARGET; do psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null; done
}
trap 'drop_databases; rm -rf "$(dirname "$FILE")"' EXIT
drop_databases
export LINERNOTES__LOGGING__LEVEL=error
LINERNOTES__DATABASE__URL=$(url $SOURCE) "$BIN" migrate up >/dev/null
psql -q -v ON_ERROR_STOP=1 -v count=96000 -f scripts/prefill_artists.sql "$(url $SOURCE)" >/dev/null
psql -q -v ON_ERROR_STOP=1 -f scripts/library_benchgen.sql "$(url $SOURCE)" >/dev/null
psql -At "$(url $SOURCE)" -c "SELECT 'entities ' || (SELECT count(*) FROM entity) || ', users ' || (SELECT count(*) FROM users) || ', plays ' || (SELECT count(*) FROM play) || ', playlists ' || (SELECT count(*) FROM playlist) || ', database ' || pg_size_pretty(pg_database_size(current_database()))"
LINERNOTES__DATABASE__URL=$(url $SOURCE) "$BIN" backup --to "$FILE"
LINERNOTES__DATABASE__URL=$(url $TARGET) "$BIN" restore --from "$FILE"
