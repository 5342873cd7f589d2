"""Benchmark the HTTP reward server (ifverify.serve) on loopback.

Sends ``--requests`` requests (default 5,000) from ``--threads`` client threads (default 32), each a single
sample with 2-3 hard constraints over a keep-alive http.client connection, and reports requests/s, p50/p99
latency, the mean batch size, errors and lost requests (both must be 0).  Then checks that a 10 MB body is
refused with 413 and malformed JSON with 400.  ``--json OUT`` writes the figures.  Bounded; stops by itself.

    python benchmarks/bench_serve.py [--requests 5000] [--threads 32] [--json out.json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import sys
import threading
import time
from typing import Any

from ifverify.rewards.reward import Reward
from ifverify.serve import RewardServer

PROMPT = "<|im_start|>user\nWrite something.<|im_end|>\n<|im_start|>assistant\n"
CONSTRAINTS = [
    {"id": "punctuation.no_comma", "params": {}},
    {"id": "length.words", "params": {"relation": "at least", "num_words": 5}},
    {"id": "keywords.presence", "params": {"keywords": ["cat"]}},
]
TEXTS = ["The cat sat on the mat all day long.", "Dogs, cats and birds.", "Short one.",
         "A cat and another cat walk home together quietly."]


def _expected(reward: Reward, text: str, label: str) -> float:
    return float(reward.score_batch(completions=[text], constraints=[json.loads(label)])[0].reward or 0.0)


def _client(server: RewardServer, jobs: list[tuple[str, str, float]], latencies: list[float],
            failures: list[str]) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        for text, label, expected in jobs:
            body = json.dumps({"query": [PROMPT + text + "<|im_end|>"], "prompts": [PROMPT], "labels": [label]})
            start = time.perf_counter()
            try:
                conn.request("POST", "/get_reward", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                answer = json.loads(response.read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
                continue
            latencies.append(time.perf_counter() - start)
            if response.status != 200:
                failures.append(f"HTTP {response.status}: {answer}")
            elif answer["rewards"] != [expected]:
                failures.append(f"wrong reward {answer['rewards']} != {[expected]}")
    finally:
        conn.close()


def _raw(server: RewardServer, head: bytes, body: bytes = b"") -> tuple[str, float]:
    """Send raw bytes; the response's status line and the seconds it took."""
    start = time.perf_counter()
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        try:
            sock.sendall(head)
            sock.sendall(body)
        except OSError:
            pass  # the server refused and closed while the body was going out
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except OSError as exc:
            if not reply:
                return f"connection error: {exc}", time.perf_counter() - start
    return reply.split(b"\r\n", 1)[0].decode("latin-1"), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--batch-window-ms", type=float, default=5.0)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)

    reward = Reward(on_error="zero")
    rng = random.Random(0)
    pool = []
    for _ in range(64):
        label = json.dumps(rng.sample(CONSTRAINTS, rng.choice([2, 3])))
        text = rng.choice(TEXTS)
        pool.append((text, label, _expected(reward, text, label)))
    jobs = [pool[i % len(pool)] for i in range(args.requests)]
    per_thread = [jobs[i::args.threads] for i in range(args.threads)]
    latencies: list[float] = []
    failures: list[str] = []

    server = RewardServer(reward, batch_window_ms=args.batch_window_ms, max_body=1_000_000).start()
    try:
        threads = [threading.Thread(target=_client, args=(server, chunk, latencies, failures), daemon=True)
                   for chunk in per_thread]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        elapsed = time.perf_counter() - start
        stats = server.stats()
        big_status, big_seconds = _raw(
            server, b"POST /get_reward HTTP/1.1\r\nHost: b\r\nContent-Length: 10000000\r\n\r\n", b"x" * 10_000_000)
        bad = b"{not json"
        bad_status, _ = _raw(server, b"POST / HTTP/1.1\r\nHost: b\r\nConnection: close\r\nContent-Length: "
                             + str(len(bad)).encode() + b"\r\n\r\n", bad)
    finally:
        server.shutdown()

    ordered = sorted(latencies)
    lost = args.requests - stats["requests"]
    figures: dict[str, Any] = {
        "requests": args.requests, "threads": args.threads, "seconds": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(1000 * statistics.median(ordered), 2) if ordered else None,
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2) if ordered else None,
        "batches": stats["batches"], "mean_batch_size": round(stats["mean_batch_size"], 2),
        "errors": len(failures), "server_errors": stats["errors"], "lost": lost,
        "oversized_10mb": {"status": big_status, "seconds": round(big_seconds, 3)},
        "malformed_json": {"status": bad_status},
        "first_failures": failures[:5],
    }
    print(json.dumps(figures, indent=2))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=2)
    ok = not failures and lost == 0 and big_status.split()[1:2] == ["413"] and bad_status.split()[1:2] == ["400"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
