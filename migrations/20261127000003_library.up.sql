-- The user library (issue 4): favourites, playlists with dense item positions, listening history with
-- per-track play counts, playback state with a version for optimistic concurrency, and search history.
--
-- Every table hangs off users (id) ON DELETE CASCADE, so purging an account removes its library.
-- Entities are referenced by their canonical MBID without a foreign key to `entity`: recording a
-- MusicBrainz merge deletes the old entity row, and the library's rows are moved to the surviving MBID in
-- the same transaction (see `record_redirect` in src/store/metadata.rs) rather than cascaded away.

CREATE TABLE favorite (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entity_mbid uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('artist', 'album', 'release', 'track', 'label')),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, entity_mbid)
);
-- Listing, newest first, all kinds or one kind.
CREATE INDEX favorite_user_created_idx ON favorite (user_id, created_at DESC, entity_mbid);
CREATE INDEX favorite_user_kind_created_idx ON favorite (user_id, kind, created_at DESC, entity_mbid);
-- Moving favourites of a merged MBID.
CREATE INDEX favorite_entity_idx ON favorite (entity_mbid);

CREATE TABLE playlist (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    public      boolean NOT NULL DEFAULT false,
    -- kept equal to the number of items by every edit (each edit locks this row), so a read needs no count
    item_count  integer NOT NULL DEFAULT 0 CHECK (item_count >= 0),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX playlist_owner_idx ON playlist (owner_id, created_at DESC, id);

CREATE TABLE playlist_item (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    playlist_id uuid NOT NULL REFERENCES playlist (id) ON DELETE CASCADE,
    track_mbid  uuid NOT NULL,
    position    integer NOT NULL CHECK (position >= 0),
    added_at    timestamptz NOT NULL,
    -- Deferrable (but not deferred): uniqueness is checked at the end of each statement, so one set-based
    -- UPDATE can shift a block of positions by one without tripping over itself.
    CONSTRAINT playlist_item_position_key UNIQUE (playlist_id, position) DEFERRABLE INITIALLY IMMEDIATE
);
-- Moving items of a merged MBID.
CREATE INDEX playlist_item_track_idx ON playlist_item (track_mbid);

CREATE TABLE play (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_mbid  uuid NOT NULL,
    played_at   timestamptz NOT NULL,
    duration_ms bigint CHECK (duration_ms >= 0),
    client      text CHECK (length(client) <= 100),
    recorded_at timestamptz NOT NULL
);
-- History pages and top tracks/artists over a period: a range of one user's plays by time, read from the
-- index alone (track_mbid is included).
CREATE INDEX play_user_time_idx ON play (user_id, played_at DESC) INCLUDE (track_mbid);
-- De-duplication (same user, same track, played_at within the window) and moving plays of a merged MBID.
CREATE INDEX play_track_user_time_idx ON play (track_mbid, user_id, played_at);

-- Plays per user and track, maintained with every recorded play: play counts and all-time top lists
-- without reading the history.
CREATE TABLE play_count (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_mbid      uuid NOT NULL,
    plays           bigint NOT NULL CHECK (plays > 0),
    last_played_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, track_mbid)
);
CREATE INDEX play_count_top_idx ON play_count (user_id, plays DESC);
CREATE INDEX play_count_track_idx ON play_count (track_mbid);

CREATE TABLE playback_state (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    track_mbid  uuid,
    position_ms bigint NOT NULL CHECK (position_ms >= 0),
    device      text NOT NULL,
    version     bigint NOT NULL CHECK (version > 0),
    updated_at  timestamptz NOT NULL
);
CREATE INDEX playback_state_track_idx ON playback_state (track_mbid) WHERE track_mbid IS NOT NULL;

CREATE TABLE search_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    query       text NOT NULL,
    entity_type text NOT NULL,
    searched_at timestamptz NOT NULL
);
CREATE INDEX search_history_user_idx ON search_history (user_id, searched_at DESC, id DESC);
