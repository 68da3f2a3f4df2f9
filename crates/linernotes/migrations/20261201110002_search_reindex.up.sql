-- Requests to rebuild every instance's search index from the database (`linernotes search reindex`);
-- each instance compares the newest one with what its index was built after.
CREATE TABLE search_reindex_request (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requested_at    timestamptz NOT NULL DEFAULT now()
);
