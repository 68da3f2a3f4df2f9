-- Metadata fetched from providers: one row per entity in `entity`, the kind's own columns in its table,
-- shared parts (aliases, credits, tags, URLs, external IDs) in tables keyed by the entity's MBID, and the
-- raw provider payload of the latest fetch per request shape.

CREATE TABLE entity (
    mbid            uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('artist', 'album', 'release', 'track', 'label')),
    -- false when only a summary is stored (an album seen in an artist's album list, not yet looked up)
    complete        boolean NOT NULL DEFAULT true,
    disambiguation  text,
    fetched_at      timestamptz NOT NULL
);

CREATE TABLE artist (
    mbid                uuid PRIMARY KEY REFERENCES entity (mbid) ON DELETE CASCADE,
    name                text NOT NULL,
    sort_name           text,
    artist_type         text,
    gender              text,
    country             text,
    area                text,
    begin_date          text,
    end_date            text,
    ended               boolean
);
CREATE INDEX artist_lower_name_idx ON artist (lower(name));

CREATE TABLE album (
    mbid                uuid PRIMARY KEY REFERENCES entity (mbid) ON DELETE CASCADE,
    title               text NOT NULL,
    primary_type        text,
    secondary_types     text[] NOT NULL DEFAULT '{}',
    first_release_date  text,
    artist_credit_name  text NOT NULL
);
CREATE INDEX album_lower_title_idx ON album (lower(title));

CREATE TABLE release (
    mbid                uuid PRIMARY KEY REFERENCES entity (mbid) ON DELETE CASCADE,
    title               text NOT NULL,
    status              text,
    date                text,
    country             text,
    barcode             text,
    packaging           text,
    album_mbid          uuid,
    artist_credit_name  text NOT NULL
);
CREATE INDEX release_album_idx ON release (album_mbid);
CREATE INDEX release_barcode_idx ON release (barcode) WHERE barcode IS NOT NULL;

CREATE TABLE medium (
    release_mbid    uuid NOT NULL REFERENCES release (mbid) ON DELETE CASCADE,
    position        integer NOT NULL,
    format          text,
    title           text,
    PRIMARY KEY (release_mbid, position)
);

CREATE TABLE release_track (
    release_mbid        uuid NOT NULL,
    medium_position     integer NOT NULL,
    position            integer NOT NULL,
    number              text,
    title               text NOT NULL,
    length_ms           bigint,
    recording_mbid      uuid,
    artist_credit_name  text NOT NULL,
    PRIMARY KEY (release_mbid, medium_position, position),
    FOREIGN KEY (release_mbid, medium_position) REFERENCES medium (release_mbid, position) ON DELETE CASCADE
);
CREATE INDEX release_track_recording_idx ON release_track (recording_mbid);

CREATE TABLE release_label (
    release_mbid    uuid NOT NULL REFERENCES release (mbid) ON DELETE CASCADE,
    position        integer NOT NULL,
    label_mbid      uuid,
    name            text,
    catalog_number  text,
    PRIMARY KEY (release_mbid, position)
);
CREATE INDEX release_label_label_idx ON release_label (label_mbid);

CREATE TABLE track (
    mbid                uuid PRIMARY KEY REFERENCES entity (mbid) ON DELETE CASCADE,
    title               text NOT NULL,
    length_ms           bigint,
    first_release_date  text,
    artist_credit_name  text NOT NULL,
    -- in the provider's order; each is also an external ID for lookups by ISRC
    isrcs               text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX track_lower_title_idx ON track (lower(title));

CREATE TABLE label (
    mbid        uuid PRIMARY KEY REFERENCES entity (mbid) ON DELETE CASCADE,
    name        text NOT NULL,
    sort_name   text,
    label_type  text,
    country     text,
    label_code  integer,
    begin_date  text,
    end_date    text,
    ended       boolean
);
CREATE INDEX label_lower_name_idx ON label (lower(name));

-- Artist credits of albums, releases and tracks, in credit order.
CREATE TABLE artist_credit (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    position        integer NOT NULL,
    artist_mbid     uuid NOT NULL,
    name            text NOT NULL,
    join_phrase     text NOT NULL,
    PRIMARY KEY (entity_mbid, position)
);
CREATE INDEX artist_credit_artist_idx ON artist_credit (artist_mbid);

CREATE TABLE alias (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    position        integer NOT NULL,
    name            text NOT NULL,
    sort_name       text,
    locale          text,
    is_primary      boolean,
    alias_type      text,
    PRIMARY KEY (entity_mbid, position)
);
CREATE INDEX alias_lower_name_idx ON alias (lower(name));

-- Genres and folksonomy tags with their vote counts.
CREATE TABLE entity_tag (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    category        text NOT NULL CHECK (category IN ('genre', 'tag')),
    -- the provider's order
    position        integer NOT NULL,
    name            text NOT NULL,
    count           integer NOT NULL,
    PRIMARY KEY (entity_mbid, category, name)
);
CREATE INDEX entity_tag_name_idx ON entity_tag (category, name);

CREATE TABLE url_relation (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    position        integer NOT NULL,
    relation_type   text NOT NULL,
    url             text NOT NULL,
    PRIMARY KEY (entity_mbid, position)
);

-- Every known ID of an entity other than its MBID: ISRCs, barcodes, provider IDs from URL relations.
CREATE TABLE external_id (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    namespace       text NOT NULL,
    value           text NOT NULL,
    PRIMARY KEY (entity_mbid, namespace, value)
);
CREATE INDEX external_id_lookup_idx ON external_id (namespace, value);

-- An MBID that MusicBrainz merged into another; lookups of the old one answer the new one.
CREATE TABLE mbid_redirect (
    old_mbid        uuid PRIMARY KEY,
    new_mbid        uuid NOT NULL,
    kind            text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (old_mbid <> new_mbid)
);
CREATE INDEX mbid_redirect_new_idx ON mbid_redirect (new_mbid);

-- An artist's album list as last synchronised from the provider (the artist itself need not be stored),
-- with the raw browse pages it was read from.
CREATE TABLE artist_album_list (
    artist_mbid     uuid PRIMARY KEY,
    total           integer NOT NULL,
    raw_pages       jsonb NOT NULL,
    fetched_at      timestamptz NOT NULL
);

-- The albums of each synchronised list.
CREATE TABLE artist_album (
    artist_mbid     uuid NOT NULL REFERENCES artist_album_list (artist_mbid) ON DELETE CASCADE,
    album_mbid      uuid NOT NULL REFERENCES album (mbid) ON DELETE CASCADE,
    PRIMARY KEY (artist_mbid, album_mbid)
);
CREATE INDEX artist_album_album_idx ON artist_album (album_mbid);

-- The raw provider answer behind the rows above: the latest one per entity, provider and request shape
-- (`inc` for MusicBrainz lookups, `browse:…` for album-list pages).
CREATE TABLE raw_payload (
    entity_mbid     uuid NOT NULL REFERENCES entity (mbid) ON DELETE CASCADE,
    provider        text NOT NULL,
    request         text NOT NULL,
    payload         jsonb NOT NULL,
    fetched_at      timestamptz NOT NULL,
    PRIMARY KEY (entity_mbid, provider, request)
);
