#!/usr/bin/env python3
"""Cold and warm GetArtist latency over HTTP, from a simple sequential load loop.

Starts a mock MusicBrainz (scripts/mock_musicbrainz.py: an artist body for any /ws/2/artist/<mbid>)
and a release build of linernotes on a fresh database, then measures:
  cold: a miss (mock upstream lookup + one transaction storing rows and raw payload + answer)
  warm: a database hit of an already stored artist
The mock answers at once and the rate limit is raised, so the numbers are linernotes' own overhead.

Usage: cargo build --release && python3 scripts/lookup_latency.py [N]
"""
import os, socket, subprocess, sys, time, urllib.request, uuid

import mock_musicbrainz  # beside this script

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name, samples):
    ms = [s * 1000 for s in samples]
    print(f"{name:5} n={len(ms)} mean={sum(ms)/len(ms):.2f}ms p50={percentile(ms,50):.2f}ms "
          f"p90={percentile(ms,90):.2f}ms p99={percentile(ms,99):.2f}ms max={max(ms):.2f}ms")


def main():
    mock = mock_musicbrainz.start()
    http_port, grpc_port = free_port(), free_port()
    db = f"linernotes_latency_{uuid.uuid4().hex[:12]}"
    env = dict(os.environ,
               LINERNOTES__DATABASE__URL=f"postgres://postgres@127.0.0.1:5432/{db}",
               LINERNOTES__SERVER__HTTP_ADDR=f"127.0.0.1:{http_port}",
               LINERNOTES__SERVER__GRPC_ADDR=f"127.0.0.1:{grpc_port}",
               LINERNOTES__PROVIDERS__MUSICBRAINZ__BASE_URL=f"http://127.0.0.1:{mock.server_port}/ws/2",
               LINERNOTES__PROVIDERS__MUSICBRAINZ__REQUESTS_PER_SECOND="1000",
               LINERNOTES__LOGGING__LEVEL="warn")
    server = subprocess.Popen([os.path.join(ROOT, "target/release/linernotes"), "serve"], env=env)
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
                r.read()
            return time.perf_counter() - start

        cold = [get(i) for i in ids]
        warm = [get(ids[k % N]) for k in range(N * 3)]
        report("cold", cold)
        report("warm", warm)
    finally:
        server.terminate()
        server.wait(timeout=30)
        mock.shutdown()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], check=False)


if __name__ == "__main__":
    main()
