#!/usr/bin/env python3
"""Resident memory of the server after caching 100,000 entities, against the configured cache budget.

Fills a fresh database with synthetic artists (scripts/prefill_artists.sql), starts a release build of
linernotes with the default 64 MiB in-process budget, reads every artist once over HTTP (each read fills
the hot cache), then reports the server's VmRSS (and VmHWM) from /proc next to the budget + 100 MiB.

Usage: cargo build --release && python3 scripts/bench_cache_memory.py [COUNT] [BUDGET_BYTES]
"""
import http.client, json, os, socket, subprocess, sys, tempfile, threading, time, uuid

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
BUDGET = int(sys.argv[2]) if len(sys.argv) > 2 else 64 * 1024 * 1024
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/linernotes")
THREADS = 16


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    db = f"linernotes_mem_{uuid.uuid4().hex[:12]}"
    http_port, grpc_port = free_port(), free_port()
    # The server's local files (its search index) live in a folder of this run, removed with it.
    data_dir = tempfile.TemporaryDirectory(prefix="linernotes-mem-")
    env = dict(os.environ,
               LINERNOTES__DATA_DIR=data_dir.name,
               LINERNOTES__DATABASE__URL=f"postgres://postgres@127.0.0.1:5432/{db}",
               LINERNOTES__SERVER__HTTP_ADDR=f"127.0.0.1:{http_port}",
               LINERNOTES__SERVER__GRPC_ADDR=f"127.0.0.1:{grpc_port}",
               LINERNOTES__PROVIDERS__MUSICBRAINZ__BASE_URL="http://127.0.0.1:9/ws/2",
               LINERNOTES__CACHE__MEMORY_BYTES=str(BUDGET),
               LINERNOTES__LOGGING__LEVEL="warn")
    subprocess.run([BIN, "migrate", "up"], env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.time()
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", f"count={COUNT}",
                    "-f", os.path.join(ROOT, "scripts/prefill_artists.sql")], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"prefilled {COUNT} artists in {time.time() - started:.1f}s")
    server = subprocess.Popen([BIN, "serve"], env=env)
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)  # waiting for the server to start, not a measurement
        baseline = proc_kib(server.pid, "VmRSS")
        errors = []

        def worker(k):
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
            for n in range(k + 1, COUNT + 1, THREADS):
                mbid = f"00000000-0000-4000-8000-{n:012x}"
                conn.request("GET", f"/v1/artists/musicbrainz:{mbid}")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(response.status)

        started = time.time()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - started
        c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        c.request("GET", "/v1/status")
        status = json.loads(c.getresponse().read())
        rss, hwm = proc_kib(server.pid, "VmRSS"), proc_kib(server.pid, "VmHWM")
        limit_kib = BUDGET // 1024 + 100 * 1024
        print(f"read {COUNT} artists in {elapsed:.1f}s ({COUNT / elapsed:.0f}/s), errors: {len(errors)}")
        print(f"cache: {status['cache_entries']} entries, {status['cache_bytes'] / 1048576:.1f} MiB weighed "
              f"(budget {BUDGET / 1048576:.0f} MiB)")
        print(f"RSS before: {baseline / 1024:.1f} MiB, after: {rss / 1024:.1f} MiB, peak: {hwm / 1024:.1f} MiB; "
              f"limit (budget + 100 MiB): {limit_kib / 1024:.0f} MiB -> {'within' if hwm <= limit_kib else 'OVER'}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], check=False)


if __name__ == "__main__":
    main()
