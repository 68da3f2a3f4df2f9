#!/usr/bin/env python3
"""Login latency over HTTP with the configured Argon2id cost, from a simple sequential loop.

Starts a release build of linernotes on a fresh database, creates one account with
`linernotes users create-admin` (the password piped on stdin), then measures POST /v1/auth/login:
one Argon2id verification (on the blocking pool) plus the session, throttle and audit writes.
Argon2 parameters come from the defaults (linernotes.example.yaml) unless LINERNOTES__AUTH__ARGON2__*
variables are set, e.g. LINERNOTES__AUTH__ARGON2__MEMORY_KIB=19456 LINERNOTES__AUTH__ARGON2__ITERATIONS=2.

Usage: cargo build --release && python3 scripts/login_latency.py [N]
"""
import json, os, socket, subprocess, sys, time, urllib.request, uuid

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMAIL, PASSWORD = "latency@example.org", "a long enough password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    http_port, grpc_port = free_port(), free_port()
    db = f"linernotes_latency_{uuid.uuid4().hex[:12]}"
    env = dict(os.environ,
               LINERNOTES__DATABASE__URL=f"postgres://postgres@127.0.0.1:5432/{db}",
               LINERNOTES__SERVER__HTTP_ADDR=f"127.0.0.1:{http_port}",
               LINERNOTES__SERVER__GRPC_ADDR=f"127.0.0.1:{grpc_port}",
               LINERNOTES__LOGGING__LEVEL="warn")
    binary = os.path.join(ROOT, "target/release/linernotes")
    subprocess.run([binary, "users", "create-admin", "--email", EMAIL], env=env,
                   input=PASSWORD + "\n", text=True, check=True, stdout=subprocess.DEVNULL)
    server = subprocess.Popen([binary, "serve"], env=env)
    base = f"http://127.0.0.1:{http_port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)  # waiting for the server to start, not a measurement
        body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()

        def login():
            request = urllib.request.Request(base + "/v1/auth/login", data=body,
                                             headers={"content-type": "application/json"})
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as r:
                assert r.status == 200
                r.read()
            return time.perf_counter() - start

        login()  # warm-up (connection pool, first allocation of the Argon2 memory)
        ms = [login() * 1000 for _ in range(N)]
        print(f"login n={len(ms)} mean={sum(ms)/len(ms):.1f}ms p50={percentile(ms,50):.1f}ms "
              f"p90={percentile(ms,90):.1f}ms p99={percentile(ms,99):.1f}ms max={max(ms):.1f}ms")
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], check=False)


if __name__ == "__main__":
    main()
