-- Lidarr's metadata API (SkyHook) names each track of a release by its own MBID and credits it to an
-- artist; both come with every release MusicBrainz answers.
ALTER TABLE release_track
    ADD COLUMN track_mbid uuid,
    ADD COLUMN artist_mbid uuid;

-- An album's release list as last synchronised from the provider (browsed 100 releases per page),
-- with the raw browse pages it was read from; the releases themselves are rows of `release`.
CREATE TABLE album_release_list (
    album_mbid      uuid PRIMARY KEY,
    total           integer NOT NULL,
    raw_pages       jsonb NOT NULL,
    fetched_at      timestamptz NOT NULL
);
