-- MusicBrainz WS/2 browse pages as MusicBrainz answered them (`/ws/2/release?release-group=…`), kept so
-- the WS/2 API answers them again without asking upstream, and while upstream is down. One row per
-- page: the browsed resource, the linked entity, and the request shape (incs, limit, offset).
CREATE TABLE ws2_browse_page (
    resource        text NOT NULL,
    linked          text NOT NULL,
    linked_mbid     uuid NOT NULL,
    request         text NOT NULL,
    payload         jsonb NOT NULL,
    fetched_at      timestamptz NOT NULL,
    PRIMARY KEY (resource, linked, linked_mbid, request)
);
