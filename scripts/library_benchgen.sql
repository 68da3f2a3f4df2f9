-- Fills a linernotes database (migrated, otherwise empty) for the library benchmark, set-based:
--   1,000 users (bench-1 … bench-1000 @bench.invalid; no usable password until the benchmark copies one in),
--   2,000 artists and 2,000 tracks (each credited to one artist, so top artists have names),
--   1,000,000 plays over the last 365 days: bench-1 is a heavy listener with 100,000, the other 999 users
--   share 900,000 (about 900 each); popular tracks are played more often (squared random pick),
--   play counts per user and track derived from those plays,
--   10,000 playlists (10 per user) with 10 items each, except bench-2's first, which has 5,000 items.
-- Usage: psql -v ON_ERROR_STOP=1 -f scripts/library_benchgen.sql <database>
-- MBIDs: artists 00000000-0000-4000-a000-<n>, tracks 00000000-0000-4000-b000-<n> (n as 12 hex digits).
BEGIN;
CREATE TEMP TABLE bench_users AS
SELECT n, md5('bench-user-' || n)::uuid AS id FROM generate_series(1, 1000) AS n;
CREATE TEMP TABLE bench_tracks AS
SELECT n, ('00000000-0000-4000-b000-' || lpad(to_hex(n), 12, '0'))::uuid AS mbid,
       ('00000000-0000-4000-a000-' || lpad(to_hex(n), 12, '0'))::uuid AS artist
FROM generate_series(0, 1999) AS n;
CREATE INDEX ON bench_tracks (n);

INSERT INTO users (id, email, password_hash, display_name, is_verified)
SELECT id, 'bench-' || n || '@bench.invalid', '!', 'Bench ' || n, true FROM bench_users;
INSERT INTO user_preferences (user_id) SELECT id FROM bench_users;
INSERT INTO user_settings (user_id) SELECT id FROM bench_users;

INSERT INTO entity (mbid, kind, complete, fetched_at)
SELECT artist, 'artist', true, now() FROM bench_tracks
UNION ALL SELECT mbid, 'track', true, now() FROM bench_tracks;
INSERT INTO artist (mbid, name, sort_name) SELECT artist, 'Artist ' || n, 'Artist ' || n FROM bench_tracks;
INSERT INTO track (mbid, title, length_ms, artist_credit_name)
SELECT mbid, 'Track ' || n, 180000 + n * 10, 'Artist ' || n FROM bench_tracks;
INSERT INTO artist_credit (entity_mbid, position, artist_mbid, name, join_phrase)
SELECT mbid, 0, artist, 'Artist ' || n, '' FROM bench_tracks;

-- 1,000,000 plays, set-based. The user and the track are picked per row; times spread over a year.
INSERT INTO play (user_id, track_mbid, played_at, duration_ms, client, recorded_at)
SELECT u.id, t.mbid, p.played_at, 180000, 'benchgen', p.played_at
FROM (
    SELECT g,
           CASE WHEN g <= 100000 THEN 1 ELSE 2 + (g % 999) END AS user_n,
           floor(power(random(), 2) * 2000)::int AS track_n,
           now() - random() * interval '365 days' AS played_at
    FROM generate_series(1, 1000000) AS g
) p
JOIN bench_users u ON u.n = p.user_n
JOIN bench_tracks t ON t.n = p.track_n;

INSERT INTO play_count (user_id, track_mbid, plays, last_played_at)
SELECT user_id, track_mbid, count(*), max(played_at) FROM play GROUP BY user_id, track_mbid;

-- 10 playlists per user; bench-2's first one is the big one.
INSERT INTO playlist (id, owner_id, name, description, public, item_count, created_at, updated_at)
SELECT md5('bench-playlist-' || u.n || '-' || k)::uuid, u.id, 'Playlist ' || k || ' of ' || u.n, '', k % 2 = 0,
       CASE WHEN u.n = 2 AND k = 1 THEN 5000 ELSE 10 END, now(), now()
FROM bench_users u, generate_series(1, 10) AS k;
INSERT INTO playlist_item (playlist_id, track_mbid, rank, added_at)
SELECT md5('bench-playlist-' || u.n || '-' || k)::uuid, t.mbid, (pos + 1) * 4294967296, now()
FROM bench_users u, generate_series(1, 10) AS k,
     generate_series(0, CASE WHEN u.n = 2 AND k = 1 THEN 4999 ELSE 9 END) AS pos
JOIN bench_tracks t ON t.n = pos % 2000;
COMMIT;
-- Sets the visibility map too, so history and top lists are read from the index alone, as in a live
-- database after autovacuum.
VACUUM ANALYZE;
