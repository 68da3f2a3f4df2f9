#!/usr/bin/env python3
"""beets (its built-in musicbrainz plugin) against a running linernotes, for scripts/beets.sh.

  beets_check.py bodies DIR   writes the mock MusicBrainz's lookups (DIR/lookup/<entity>/<mbid>.json):
                              a release and its recordings as MusicBrainz answers beets' incs
  beets_check.py check HOST   points beets' `musicbrainz.host` at HOST (127.0.0.1:PORT, linernotes)
                              and runs the flows beets runs: album and track lookups by ID,
                              candidate searches (album and singleton), and an unknown ID as "nothing
                              found"; exits non-zero when one fails

Run `check` with the Python that has beets installed (scripts/beets.sh makes that virtualenv).
"""
import json
import os
import sys

ARTIST = "5a1e0000-0000-4000-8000-00000000a001"
GROUP = "5a1e0000-0000-4000-8000-00000000b001"
RELEASE = "5a1e0000-0000-4000-8000-00000000c001"
RECORDINGS = ["5a1e0000-0000-4000-8000-00000000d001", "5a1e0000-0000-4000-8000-00000000d002"]
UNKNOWN = "5a1e0000-0000-4000-8000-00000000ffff"


def artist_credit():
    return [{"name": "Ada Example", "joinphrase": "",
             "artist": {"id": ARTIST, "name": "Ada Example", "sort-name": "Example, Ada",
                        "disambiguation": "", "type": "Person",
                        "type-id": "b6e035f4-3ce9-331c-97df-83397230b0df", "country": "GB",
                        "aliases": [{"name": "エイダ", "sort-name": "エイダ", "locale": "ja",
                                     "primary": True, "type": "Artist name", "type-id": None,
                                     "begin": None, "end": None, "ended": False}],
                        "genres": [], "tags": []}}]


def recording(mbid, title, length, isrc):
    return {"id": mbid, "title": title, "length": length, "disambiguation": "", "video": False,
            "first-release-date": "1999-03-01", "artist-credit": artist_credit(), "aliases": [],
            "isrcs": [isrc], "relations": []}


def release():
    """The release as MusicBrainz answers beets' album lookup (artists, media, recordings,
    release-groups, labels, artist-credits, aliases, isrcs, genres, tags and relationships)."""
    tracks = [
        {"id": f"5a1e0000-0000-4000-8000-00000000e00{n}", "position": n, "number": f"A{n}",
         "title": title, "length": length, "artist-credit": artist_credit(),
         "recording": recording(mbid, title, length, f"GBAAA99000{n:02}")}
        for n, (mbid, title, length) in enumerate(
            [(RECORDINGS[0], "First Light", 201000), (RECORDINGS[1], "Second Wind", 187000)], 1)
    ]
    return {
        "id": RELEASE, "title": "Partial Dates", "status": "Official",
        "status-id": "4e304316-386d-3409-af2e-78857eec5cfe", "quality": "normal",
        "disambiguation": "", "packaging": None, "packaging-id": None, "barcode": "0602577684647",
        "asin": None, "date": "1999-03-01", "country": "GB",
        "release-events": [{"date": "1999-03-01", "area": {
            "id": "8a754a16-0027-3a29-b6d7-2b40ea0481ed", "name": "United Kingdom",
            "sort-name": "United Kingdom", "disambiguation": "", "iso-3166-1-codes": ["GB"],
            "type": None, "type-id": None}}],
        "text-representation": {"language": "eng", "script": "Latn"},
        "cover-art-archive": {"artwork": False, "count": 0, "front": False, "back": False,
                              "darkened": False},
        "artist-credit": artist_credit(), "aliases": [], "genres": [], "tags": [],
        "relations": [],
        "release-group": {"id": GROUP, "title": "Partial Dates", "primary-type": "Album",
                          "primary-type-id": "f529b476-6e62-324f-b0aa-1f3e33d313fc",
                          "secondary-types": [], "secondary-type-ids": [],
                          "first-release-date": "1999-03-01", "disambiguation": "",
                          "artist-credit": artist_credit(), "aliases": [], "genres": [],
                          "tags": []},
        "label-info": [{"catalog-number": "EX 001", "label": {
            "id": "5a1e0000-0000-4000-8000-00000000f001", "name": "Example Records",
            "sort-name": "Example Records", "disambiguation": "", "label-code": None,
            "type": None, "type-id": None, "aliases": []}}],
        "media": [{"position": 1, "title": "", "format": "12\" Vinyl",
                   "format-id": "3e9080b0-5e6c-34ab-bd15-f526b6306a64",
                   "id": "5a1e0000-0000-4000-8000-0000000a0001", "track-count": 2,
                   "track-offset": 0, "tracks": tracks}],
    }


def write_bodies(folder):
    bodies = {("release", RELEASE): release()}
    for track in release()["media"][0]["tracks"]:
        bodies[("recording", track["recording"]["id"])] = track["recording"]
    for (entity, mbid), body in bodies.items():
        directory = os.path.join(folder, "lookup", entity)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f"{mbid}.json"), "w") as f:
            json.dump(body, f)


def check(host):
    from beets import config
    from beets.library import Item
    from beetsplug.musicbrainz import MusicBrainzPlugin

    config.read(user=False)
    config["musicbrainz"]["host"] = host
    config["musicbrainz"]["https"] = False
    config["musicbrainz"]["ratelimit"] = 100
    plugin = MusicBrainzPlugin()
    results = []

    def step(name, run):
        try:
            run()
            results.append((name, None))
            print(f"ok    {name}")
        except Exception as e:  # every failure is reported, the others still run
            results.append((name, e))
            print(f"FAIL  {name}: {type(e).__name__}: {e}")

    def album_lookup():
        album = plugin.album_for_id(RELEASE)
        assert album is not None, "no album"
        assert album.album == "Partial Dates", album.album
        assert album.artist == "Ada Example", album.artist
        assert album.releasegroup_id == GROUP, album.releasegroup_id
        assert [t.title for t in album.tracks] == ["First Light", "Second Wind"], album.tracks
        assert album.tracks[0].track_id == RECORDINGS[0]
        assert album.label == "Example Records" and album.catalognum == "EX 001"
        assert album.year == 1999 and album.country == "GB"
        # A URL-shaped ID, as people paste them.
        again = plugin.album_for_id(f"https://musicbrainz.org/release/{RELEASE}")
        assert again is not None and again.album_id == RELEASE

    def track_lookup():
        track = plugin.track_for_id(RECORDINGS[1])
        assert track is not None, "no track"
        assert track.title == "Second Wind" and track.length == 187.0, (track.title, track.length)
        assert track.artist == "Ada Example"

    def album_candidates():
        items = [Item(title="First Light"), Item(title="Second Wind")]
        found = list(plugin.candidates(items, "Ada Example", "Partial Dates", False))
        assert [a.album_id for a in found] == [RELEASE], [a.album_id for a in found]

    def track_candidates():
        # (The recording looked up above: recordings are searchable once stored on their own.)
        found = list(plugin.item_candidates(Item(title="Second Wind"), "Ada Example", "Second Wind"))
        assert RECORDINGS[1] in [t.track_id for t in found], [t.track_id for t in found]

    def not_found():
        assert plugin.album_for_id(UNKNOWN) is None
        assert plugin.track_for_id(UNKNOWN) is None

    step("album lookup by ID", album_lookup)
    step("track lookup by ID", track_lookup)
    step("album candidates (release search, then lookups)", album_candidates)
    step("singleton candidates (recording search, then lookups)", track_candidates)
    step("unknown IDs are nothing found (404)", not_found)
    failed = sum(1 for _, e in results if e is not None)
    print(f"beets: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "bodies":
        write_bodies(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    else:
        sys.exit(__doc__)
