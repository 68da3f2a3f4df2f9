-- Imports of MusicBrainz JSON dumps: each run loads a staging schema, then swaps it in for the catalogue
-- tables. A row per import says what it reads (its fingerprint) and where it stands, so a re-run of the
-- same command resumes it, or does nothing when it has finished.

CREATE TABLE dump_import (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the archives' names, sizes and listed SHA-256 sums, and the entity types chosen
    fingerprint     text NOT NULL,
    entity_types    text[] NOT NULL,
    staging_schema  text NOT NULL,
    state           text NOT NULL CHECK (state IN ('loading', 'indexing', 'swapped', 'failed')),
    -- the dump's TIMESTAMP: entities fetched live after it are newer than the dump and kept
    dump_timestamp  timestamptz,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    error           text
);
-- At most one import is under way.
CREATE UNIQUE INDEX dump_import_one_open_idx ON dump_import ((true)) WHERE state IN ('loading', 'indexing');
CREATE INDEX dump_import_fingerprint_idx ON dump_import (fingerprint, id DESC);

-- The checkpoint of each archive: committed in the same transaction as the rows of each batch.
CREATE TABLE dump_import_file (
    import_id       bigint NOT NULL REFERENCES dump_import (id) ON DELETE CASCADE,
    entity_type     text NOT NULL,
    file_name       text NOT NULL,
    compressed_bytes bigint NOT NULL,
    -- lines of mbdump/<entity> whose rows are committed
    lines_done      bigint NOT NULL DEFAULT 0,
    rows_written    bigint NOT NULL DEFAULT 0,
    finished        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (import_id, entity_type)
);
