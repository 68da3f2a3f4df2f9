#!/usr/bin/env python3
"""What enrichment adds to read latency: first reads and warm reads of artists over HTTP, with the
enrichers off and on.

Starts one mock upstream answering at once for MusicBrainz (any /ws/2/artist/<mbid>), Deezer (an
artist search finding the artist by name, and the artist) and iTunes (an artist search), and a build
of linernotes on a fresh database per mode:
  off: every enricher disabled;
  on:  Deezer and iTunes enabled against the mock (the other keyless enrichers off: Wikidata and
       Wikipedia have nothing to do for an artist without a Wikidata link, the Cover Art Archive
       nothing for artists).
For each mode it measures
  first: N distinct artists read once each (miss → MusicBrainz → store → answer; enrichment starts
         in the background);
  warm:  3N reads of the same artists once enrichment has settled, with the in-process cache off, so
         each read is a database read merging the stored enrichment (the hot-cache path is the same
         bytes either way);
  cached: 3N reads with the in-process cache on (64 MiB), after one read of each.
The mock answers at once and rate limits are raised, so the numbers are linernotes' own overhead.

Usage: cargo build --release && python3 scripts/enrichment_latency.py [N] [--debug]
  --debug  use target/debug/linernotes (numbers are then only comparable with each other)
"""
import json, os, socket, subprocess, sys, threading, time, urllib.request, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mock_musicbrainz  # beside this script

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else 200
PROFILE = "debug" if "--debug" in sys.argv else "release"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "Load Test Artist"
ENRICHERS = ["coverartarchive", "wikidata", "wikipedia", "deezer", "itunes", "lrclib"]


class Upstream(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/ws/2/"):
            body = mock_musicbrainz.artist_body(path.rstrip("/").rsplit("/", 1)[-1])
        elif path == "/deezer/search/artist":
            body = json.dumps({"data": [{"id": 42, "name": NAME, "type": "artist",
                                         "link": "https://www.deezer.com/artist/42"}], "total": 1}).encode()
        elif path == "/deezer/artist/42":
            body = json.dumps({"id": 42, "name": NAME, "link": "https://www.deezer.com/artist/42",
                               "picture_xl": "https://cdn-images.dzcdn.net/images/artist/abc/1000x1000-000000-80-0-0.jpg",
                               "nb_fan": 1234, "type": "artist"}).encode()
        elif path == "/itunes/search":
            body = json.dumps({"resultCount": 1, "results": [
                {"wrapperType": "artist", "artistType": "Artist", "artistName": NAME, "artistId": 7,
                 "artistLinkUrl": "https://music.apple.com/us/artist/7", "primaryGenreName": "Rock"}]}).encode()
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(mode, name, samples):
    ms = [s * 1000 for s in samples]
    print(f"| {mode} | {name} | {sum(ms)/len(ms):.2f} ms | {percentile(ms,50):.2f} ms | "
          f"{percentile(ms,90):.2f} ms | {percentile(ms,99):.2f} ms | {max(ms):.2f} ms |")


def run(mode, upstream_port, memory_bytes):
    http_port, grpc_port = free_port(), free_port()
    db = f"linernotes_enrich_{uuid.uuid4().hex[:12]}"
    up = f"http://127.0.0.1:{upstream_port}"
    env = dict(os.environ,
               LINERNOTES__DATABASE__URL=f"postgres://postgres@127.0.0.1:5432/{db}",
               LINERNOTES__SERVER__HTTP_ADDR=f"127.0.0.1:{http_port}",
               LINERNOTES__SERVER__GRPC_ADDR=f"127.0.0.1:{grpc_port}",
               LINERNOTES__PROVIDERS__MUSICBRAINZ__BASE_URL=f"{up}/ws/2",
               LINERNOTES__PROVIDERS__MUSICBRAINZ__REQUESTS_PER_SECOND="1000",
               LINERNOTES__CACHE__MEMORY_BYTES=str(memory_bytes),
               LINERNOTES__LOGGING__LEVEL="warn")
    for name in ENRICHERS:
        env[f"LINERNOTES__PROVIDERS__{name.upper()}__ENABLED"] = "false"
    if mode == "on":
        for name in ("deezer", "itunes"):
            env[f"LINERNOTES__PROVIDERS__{name.upper()}__ENABLED"] = "true"
            env[f"LINERNOTES__PROVIDERS__{name.upper()}__BASE_URL"] = f"{up}/{name}"
            env[f"LINERNOTES__PROVIDERS__{name.upper()}__REQUESTS_PER_SECOND"] = "1000"
    server = subprocess.Popen([os.path.join(ROOT, f"target/{PROFILE}/linernotes"), "serve"], env=env)
    base = f"http://127.0.0.1:{http_port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)  # waiting for the server to start, not a measurement
        ids = [str(uuid.uuid4()) for _ in range(N)]

        def get(mbid):
            start = time.perf_counter()
            with urllib.request.urlopen(f"{base}/v1/artists/musicbrainz:{mbid}", timeout=10) as r:
                assert r.status == 200
                body = json.loads(r.read())
            return time.perf_counter() - start, body

        first = [get(i)[0] for i in ids]
        for _ in range(1200):
            status = json.loads(urllib.request.urlopen(base + "/v1/status", timeout=5).read())
            if status["background_refreshes"] == 0:
                break
            time.sleep(0.05)  # waiting for enrichment to settle, not a measurement
        if mode == "on":
            linked = get(ids[0])[1]
            assert any(l["platform"] == "deezer" for l in linked["links"]), linked
        warm = [get(ids[k % N])[0] for k in range(N * 3)]
        return first, warm
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], check=False)


def main():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    print(f"{PROFILE} build, N={N}")
    print("| enrichment | read | mean | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|---|")
    try:
        for mode in ("off", "on"):
            first, warm = run(mode, upstream.server_port, 0)
            report(mode, "first read", first)
            report(mode, "warm, database", warm)
            _, cached = run(mode, upstream.server_port, 64 * 1024 * 1024)
            report(mode, "warm, in-process cache", cached)
    finally:
        upstream.shutdown()


if __name__ == "__main__":
    main()
