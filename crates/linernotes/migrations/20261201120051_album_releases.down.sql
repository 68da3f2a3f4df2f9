DROP TABLE album_release_list;
ALTER TABLE release_track DROP COLUMN track_mbid, DROP COLUMN artist_mbid;
