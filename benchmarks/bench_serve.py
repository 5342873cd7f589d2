"""Benchmark the HTTP reward server (ifverify.serve) on loopback, on clean and on hostile traffic.

Each phase sends ``--requests`` requests (default 5,000) from ``--threads`` client threads (default 32), each
a single sample with 2-3 hard constraints over a keep-alive http.client connection, and checks every answer
against the reward computed in-process.

- **clean**: only good requests.  Reports requests/s and p50/p99 latency.
- **hostile**: the same, but ``--poison`` of the requests (default 1%) are poison (a catastrophic regex
  under IFEval semantics, a 900 KB keyword param, a malformed label, a 1 MB run of special tokens), while
  ``--slow-clients`` connections (default 50) dribble their headers one byte at a time and a monitor polls
  ``/health`` every 50 ms.  Reports lost good requests (must be 0), poison answers (must be 200 with reward
  0.0), p99 of the good requests, the slowest ``/health`` answer and failed health checks (must be 0),
  and the RSS of the server process and of its workers before and after.

Both phases follow an untimed warm-up of 500 clean requests.  Then checks that a 10 MB body is refused
with 413 and malformed JSON with 400.  ``--json OUT`` writes the
figures.  ``--impl MODULE`` benchmarks another ``RewardServer`` (a baseline) on the clean phase only.

    python benchmarks/bench_serve.py [--requests 5000] [--threads 32] [--json out.json]
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import inspect
import json
import os
import random
import socket
import statistics
import sys
import threading
import time
from typing import Any

from ifverify.rewards.reward import Reward

PROMPT = "<|im_start|>user\nWrite something.<|im_end|>\n<|im_start|>assistant\n"
CONSTRAINTS = [
    {"id": "punctuation.no_comma", "params": {}},
    {"id": "length.words", "params": {"relation": "at least", "num_words": 5}},
    {"id": "keywords.presence", "params": {"keywords": ["cat"]}},
]
TEXTS = ["The cat sat on the mat all day long.", "Dogs, cats and birds.", "Short one.",
         "A cat and another cat walk home together quietly."]
POISON = [  # (response, label): each must answer 200 with reward 0.0
    ("a" * 40 + "!", json.dumps({"instruction_id_list": ["keywords:forbidden_words"],
                                 "kwargs": [{"forbidden_words": ["(a|aa)+$", "(x+x+)+y"]}]})),
    ("a cat", json.dumps([{"id": "keywords.presence", "params": {"keywords": ["k" * 900_000]}}])),
    ("a cat", "{oops, not json"),
    ("a cat" + "<|im_end|>" * 95_000, "[]"),
]
Job = tuple[str, str, float, bool]  # response, label, expected reward, is poison


def _expected(reward: Reward, text: str, label: str) -> float:
    return float(reward.score_batch(completions=[text], constraints=[json.loads(label)])[0].reward or 0.0)


def _client(server: Any, jobs: list[Job], latencies: list[float], failures: list[str], poison: list[str]) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        for text, label, expected, is_poison in jobs:
            body = json.dumps({"query": [PROMPT + text + "<|im_end|>"], "prompts": [PROMPT], "labels": [label]})
            start = time.perf_counter()
            try:
                conn.request("POST", "/get_reward", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                answer = json.loads(response.read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                (poison if is_poison else failures).append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
                continue
            took = time.perf_counter() - start
            if response.status != 200 or answer.get("rewards") != [expected]:
                (poison if is_poison else failures).append(f"HTTP {response.status}: {str(answer)[:200]}")
            elif not is_poison:
                latencies.append(took)
    finally:
        conn.close()


def _slow_client(server: Any, stop: threading.Event, dropped: list[int]) -> None:
    """Dribble a request's headers one byte every 0.2 s; count how often the server drops the connection."""
    head = b"POST /get_reward HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n" * 50
    while not stop.is_set():
        try:
            with socket.create_connection((server.host, server.port), timeout=5) as sock:
                for byte in head:
                    if stop.wait(0.2):
                        return
                    sock.sendall(bytes([byte]))
        except OSError:
            dropped.append(1)


def _health_monitor(server: Any, stop: threading.Event, worst: list[float], failed: list[str]) -> None:
    while not stop.wait(0.05):
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                failed.append(f"HTTP {response.status}")
        except (OSError, http.client.HTTPException) as exc:
            failed.append(f"{type(exc).__name__}: {exc}")
        worst.append(time.perf_counter() - start)


def _raw(server: Any, head: bytes, body: bytes = b"") -> tuple[str, float]:
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


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _rss(server: Any) -> dict[str, float]:
    pids = server.worker_pids() if hasattr(server, "worker_pids") else []
    return {"server_mb": _rss_mb(os.getpid()), "workers_mb": round(sum(_rss_mb(p) for p in pids), 1)}


def _phase(server: Any, jobs: list[Job], threads: int, *, slow: int = 0) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[str] = []
    poison: list[str] = []
    stop = threading.Event()
    health: list[float] = []
    health_failed: list[str] = []
    dropped: list[int] = []
    helpers = [threading.Thread(target=_health_monitor, args=(server, stop, health, health_failed), daemon=True)]
    helpers += [threading.Thread(target=_slow_client, args=(server, stop, dropped), daemon=True) for _ in range(slow)]
    for helper in helpers:
        helper.start()
    before = _rss(server)
    clients = [threading.Thread(target=_client, args=(server, jobs[i::threads], latencies, failures, poison),
                                daemon=True) for i in range(threads)]
    start = time.perf_counter()
    for t in clients:
        t.start()
    for t in clients:
        t.join(600)
    elapsed = time.perf_counter() - start
    stop.set()
    for helper in helpers:
        helper.join(10)
    good = sum(1 for job in jobs if not job[3])
    ordered = sorted(latencies)
    return {
        "requests": len(jobs), "good": good, "poison": len(jobs) - good, "seconds": round(elapsed, 3),
        "requests_per_s": round(len(jobs) / elapsed, 1) if elapsed else 0.0,
        "good_p50_ms": round(1000 * statistics.median(ordered), 2) if ordered else None,
        "good_p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2) if ordered else None,
        "lost_good": good - len(latencies), "first_good_failures": failures[:5],
        "poison_not_200_zero": len(poison), "first_poison_failures": poison[:3],
        "health_checks": len(health), "health_failed": len(health_failed),
        "health_worst_ms": round(1000 * max(health), 1) if health else None,
        "slow_clients": slow, "slow_connections_dropped": len(dropped),
        "rss_before": before, "rss_after": _rss(server),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--batch-window-ms", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=None, help="scoring processes (default: the server's)")
    parser.add_argument("--poison", type=float, default=0.01, help="share of poison requests in the hostile phase")
    parser.add_argument("--slow-clients", type=int, default=50)
    parser.add_argument("--impl", default="ifverify.serve", help="module of the RewardServer (clean phase only "
                                                                  "unless it is ifverify.serve)")
    parser.add_argument("--clean-only", action="store_true", help="skip the hostile phase")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)

    server_cls = importlib.import_module(args.impl).RewardServer
    reward = Reward(on_error="zero")
    rng = random.Random(0)
    pool = []
    for _ in range(64):
        label = json.dumps(rng.sample(CONSTRAINTS, rng.choice([2, 3])))
        text = rng.choice(TEXTS)
        pool.append((text, label, _expected(reward, text, label), False))
    clean = [pool[i % len(pool)] for i in range(args.requests)]
    hostile = [(*POISON[i % len(POISON)], 0.0, True) if rng.random() < args.poison else job
               for i, job in enumerate(clean)]

    options: dict[str, Any] = {"batch_window_ms": args.batch_window_ms, "max_body": 1_000_000}
    if args.workers is not None:
        options["workers"] = args.workers
    accepted = inspect.signature(server_cls).parameters
    server = server_cls(reward, **{k: v for k, v in options.items() if k in accepted}).start()
    workers = len(server.worker_pids()) if "workers" in accepted else None
    figures: dict[str, Any] = {"impl": args.impl, "workers": workers,
                               "threads": args.threads, "cpus": os.cpu_count(),
                               "load_average_at_start": round(os.getloadavg()[0], 2)}
    try:
        _phase(server, clean[:500], args.threads)  # warm-up, untimed: first requests load the tokenizers
        figures["clean"] = _phase(server, clean, args.threads)
        if args.impl == "ifverify.serve" and not args.clean_only:
            figures["hostile"] = _phase(server, hostile, args.threads, slow=args.slow_clients)
        big_status, big_seconds = _raw(
            server, b"POST /get_reward HTTP/1.1\r\nHost: b\r\nContent-Length: 10000000\r\n\r\n", b"x" * 10_000_000)
        bad = b"{not json"
        bad_status, _ = _raw(server, b"POST / HTTP/1.1\r\nHost: b\r\nConnection: close\r\nContent-Length: "
                             + str(len(bad)).encode() + b"\r\n\r\n", bad)
        figures["stats"] = server.stats()
    finally:
        server.shutdown()
    figures["oversized_10mb"] = {"status": big_status, "seconds": round(big_seconds, 3)}
    figures["malformed_json"] = {"status": bad_status}
    figures["load_average_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, indent=2))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=2)
    phases = [figures[p] for p in ("clean", "hostile") if p in figures]
    ok = (all(p["lost_good"] == 0 and p["poison_not_200_zero"] == 0 and p["health_failed"] == 0 for p in phases)
          and big_status.split()[1:2] == ["413"] and bad_status.split()[1:2] == ["400"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
