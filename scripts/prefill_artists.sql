-- Fills the metadata tables with :count synthetic artists (each with 2 aliases, 2 genres, 3 tags, 2 URL
-- relations and an external ID), MBIDs 00000000-0000-4000-8000-<n as 12 hex digits>, n = 1..:count.
-- Usage: psql -v count=100000 -f scripts/prefill_artists.sql <database>
BEGIN;
CREATE TEMP TABLE bench_ids AS
SELECT n, ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid AS mbid
FROM generate_series(1, :count) AS n;

INSERT INTO entity (mbid, kind, complete, disambiguation, fetched_at)
SELECT mbid, 'artist', true, 'benchmark artist ' || n, now() FROM bench_ids;
INSERT INTO artist (mbid, name, sort_name, artist_type, gender, country, area, begin_date, end_date, ended)
SELECT mbid, 'Artist ' || n, 'Artist, ' || n, 'Group', NULL, 'GB', 'United Kingdom', '1990-05', NULL, false
FROM bench_ids;
INSERT INTO alias (entity_mbid, position, name, sort_name, locale, is_primary, alias_type)
SELECT mbid, p, 'Alias ' || p || ' of ' || n, 'Alias ' || p, CASE p WHEN 0 THEN 'en' END, p = 0, 'Artist name'
FROM bench_ids, generate_series(0, 1) AS p;
INSERT INTO entity_tag (entity_mbid, category, position, name, count)
SELECT mbid, 'genre', p, (ARRAY['rock', 'pop'])[p + 1], 3 - p FROM bench_ids, generate_series(0, 1) AS p;
INSERT INTO entity_tag (entity_mbid, category, position, name, count)
SELECT mbid, 'tag', p, (ARRAY['british', 'loud', 'live'])[p + 1], 5 - p FROM bench_ids, generate_series(0, 2) AS p;
INSERT INTO url_relation (entity_mbid, position, relation_type, url)
SELECT mbid, 0, 'discogs', 'https://www.discogs.com/artist/' || n FROM bench_ids
UNION ALL
SELECT mbid, 1, 'official homepage', 'https://artist' || n || '.example.org/' FROM bench_ids;
INSERT INTO external_id (entity_mbid, namespace, value)
SELECT mbid, 'discogs', n::text FROM bench_ids;
COMMIT;
ANALYZE;
