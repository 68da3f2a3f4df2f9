-- What providers other than the catalogue reported about an entity: one row per entity and provider,
-- holding the parsed facts merged on reads, the outcome of the latest attempt, and when to try again
-- after a failure. A failure keeps the facts of the last success.
CREATE TABLE enrichment (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    provider        text NOT NULL,
    -- found: facts hold what it reported; not_found: it knows nothing of the entity; failed: the
    -- latest attempt failed (facts are those of the last success, if any)
    outcome         text NOT NULL CHECK (outcome IN ('found', 'not_found', 'failed')),
    facts           jsonb NOT NULL DEFAULT '{}',
    -- when the facts were fetched (the last success)
    fetched_at      timestamptz,
    attempted_at    timestamptz NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    last_error      text,
    retry_at        timestamptz,
    PRIMARY KEY (entity_mbid, provider)
);
CREATE INDEX enrichment_retry_idx ON enrichment (retry_at) WHERE retry_at IS NOT NULL;
