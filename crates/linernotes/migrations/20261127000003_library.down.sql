DROP FUNCTION IF EXISTS library_record_play(uuid, uuid, timestamptz, bigint, text, timestamptz, timestamptz, timestamptz);
DROP TABLE IF EXISTS search_history;
DROP TABLE IF EXISTS playback_state;
DROP TABLE IF EXISTS play_count;
DROP TABLE IF EXISTS play;
DROP TABLE IF EXISTS playlist_item;
DROP TABLE IF EXISTS playlist;
DROP TABLE IF EXISTS favorite;
