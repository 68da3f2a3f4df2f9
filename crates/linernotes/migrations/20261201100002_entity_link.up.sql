-- The same entity on other platforms, as enrichers linked it (an ISRC or barcode they share, or a
-- match by title, artist and duration or track count): what makes `deezer:…` or `itunes:…` resolve to
-- the catalogue's entity. Links read from URL relations stay in external_id.
CREATE TABLE entity_link (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    namespace       text NOT NULL,
    value           text NOT NULL,
    -- the enricher that made the link; its links are replaced at each of its successes
    provider        text NOT NULL,
    url             text,
    method          text NOT NULL CHECK (method IN ('mbid', 'url_relation', 'isrc', 'barcode', 'fuzzy')),
    confidence      real NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    PRIMARY KEY (entity_mbid, namespace, value)
);
CREATE INDEX entity_link_lookup_idx ON entity_link (namespace, value);
