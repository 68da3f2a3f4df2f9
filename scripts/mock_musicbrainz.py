#!/usr/bin/env python3
"""A mock MusicBrainz WS/2 for benchmarks and scripts/schemathesis.sh: any /ws/2/artist/<mbid> answers at
once with an artist body, and with --fixtures, any entity recorded there answers its recorded body;
searches and browses answer an empty page (with --albums, an artist's release groups), any other
lookup WS/2's 404.

Used by scripts/lookup_latency.py (imported) and the bench_*.sh scripts (run as a program). It
listens on 127.0.0.1 only.

Usage: python3 scripts/mock_musicbrainz.py [--port N] [--port-file FILE] [--fixtures DIR]
  --port       port to listen on (default 0: any free port)
  --port-file  write the chosen port to FILE once listening (for scripts that start it in background)
  --fixtures   a folder of recorded WS/2 lookups (../shared/fixtures/musicbrainz): /ws/2/<entity>/<mbid>
               of an entity recorded under lookup/<entity>/ answers its recorded body
  --albums     how many release groups the browse of any artist lists (default 0), 100 a page, each
               with an MBID made from the artist's and its number
Stops on SIGTERM or Ctrl-C.
"""
import argparse, json, os, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def artist_body(mbid):
    """The WS/2 JSON of a plausible artist with the given MBID."""
    return json.dumps({
        "id": mbid, "name": "Load Test Artist", "sort-name": "Artist, Load Test", "type": "Group",
        "country": "GB", "disambiguation": "", "life-span": {"begin": "1990", "end": None, "ended": False},
        "area": {"name": "United Kingdom"},
        "aliases": [{"name": "LTA", "sort-name": "LTA", "locale": None, "primary": None, "type": None}],
        "genres": [{"name": "rock", "count": 3}], "tags": [{"name": "loud", "count": 2}],
        "relations": [{"type": "discogs", "target-type": "url",
                       "url": {"resource": "https://www.discogs.com/artist/42"}}],
    }).encode()


RECORDED = {}
# Release groups every artist's browse lists (--albums).
ALBUMS = 0


def album_page(artist, offset):
    """A page of an artist's release-group browse: up to 100 of ALBUMS made-up albums from offset."""
    groups = [{
        "id": f"{artist[:24]}{n + 1:012x}", "title": f"Album {n}", "primary-type": "Album" if n % 3 else "Single",
        "secondary-types": ["Live"] if n % 7 == 0 else [], "first-release-date": f"{1990 + n % 30}-0{1 + n % 9}",
        "disambiguation": "",
        "artist-credit": [{"name": "Load Test Artist", "joinphrase": "",
                           "artist": {"id": artist, "name": "Load Test Artist", "sort-name": "Artist, Load Test"}}],
    } for n in range(offset, min(offset + 100, ALBUMS))]
    return json.dumps({"release-group-count": ALBUMS, "release-group-offset": offset,
                       "release-groups": groups}).encode()


def load_fixtures(folder):
    """Indexes the recorded lookup bodies under folder/lookup/<entity>/ by entity and MBID."""
    for entity in ("artist", "release", "recording", "release-group", "label"):
        directory = os.path.join(folder, "lookup", entity)
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            with open(os.path.join(directory, name), "rb") as f:
                body = f.read()
            try:
                mbid = json.loads(body)["id"]
            except (ValueError, KeyError, TypeError):
                continue
            RECORDED[(entity, mbid)] = body


# The envelope key of a search's or a browse's list, by entity.
PLURAL = {"artist": "artists", "release": "releases", "recording": "recordings",
          "release-group": "release-groups", "label": "labels"}


class MockMusicBrainz(BaseHTTPRequestHandler):
    """Answers a recorded entity with its body, an artist lookup with a made-up artist whose MBID is
    the last path segment, a search or a browse with an empty page, and anything else with WS/2's 404."""

    def do_GET(self):
        path, _, query = self.path.partition("?")
        parts = path.rstrip("/").split("/")  # ["", "ws", "2", entity, id?]
        entity = parts[3] if len(parts) > 3 else ""
        key = parts[4] if len(parts) > 4 else ""
        if (entity, key) in RECORDED:
            self.answer(200, RECORDED[(entity, key)])
        elif entity == "artist" and len(key) == 36:
            self.answer(200, artist_body(key))
        elif not key and entity == "release-group" and "artist=" in query and ALBUMS:
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            self.answer(200, album_page(params["artist"], int(params.get("offset", "0"))))
        elif not key and entity in PLURAL:
            plural = PLURAL[entity]
            if "query=" in query:
                page = {"created": "2026-01-01T00:00:00.000Z", "count": 0, "offset": 0, plural: []}
            else:
                page = {f"{entity}-count": 0, f"{entity}-offset": 0, plural: []}
            self.answer(200, json.dumps(page).encode())
        else:
            self.answer(404, json.dumps({"error": "Not Found", "help": "mock MusicBrainz"}).encode())

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start(port=0):
    """A running mock server (serving on a daemon thread); stop it with .shutdown()."""
    server = ThreadingHTTPServer(("127.0.0.1", port), MockMusicBrainz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description="Mock MusicBrainz WS/2 (artists only) on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--fixtures")
    parser.add_argument("--albums", type=int, default=0)
    args = parser.parse_args()
    global ALBUMS
    ALBUMS = args.albums
    if args.fixtures:
        load_fixtures(args.fixtures)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), MockMusicBrainz)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_port))
        os.replace(tmp, args.port_file)  # readers never see a half-written file
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
