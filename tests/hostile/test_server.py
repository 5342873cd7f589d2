"""Hostile input to ``ifverify serve``: poison requests, broken framing, slow and surplus connections.

Every test checks that the server keeps answering (health and good requests), that the hostile
request gets its documented answer, and bounds the time generously.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ifverify.rewards.reward import Reward
from ifverify.serve import RewardServer

PROMPT = "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n"
NO_COMMA = json.dumps([{"id": "punctuation.no_comma", "params": {}}])
POISON = json.dumps([{"id": "keywords:forbidden_words", "params": {"forbidden_words": ["(a|aa)+$"]}}])
BOUND = 20.0


@pytest.fixture(scope="module")
def server() -> Iterator[RewardServer]:
    srv = RewardServer(Reward(on_error="zero"), socket_timeout=2.0, workers=1).start()
    yield srv
    srv.shutdown()


def call(srv: RewardServer, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def good(srv: RewardServer) -> None:
    status, answer = call(srv, "POST", "/", {"query": [PROMPT + "fine"], "prompts": [PROMPT], "labels": [NO_COMMA]})
    assert (status, answer["rewards"]) == (200, [1.0])


def raw(srv: RewardServer, data: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection((srv.host, srv.port), timeout=wait) as sock:
        sock.sendall(data)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except TimeoutError:
            pass
        return reply


def test_poison_and_bad_labels_fail_their_samples_with_200(server):
    labels = [NO_COMMA, POISON, "{oops", "[]", json.dumps({"foo": 1}), json.dumps([{"id": "no.such"}])]
    queries = [PROMPT + "fine", PROMPT + "a" * 40 + "!", *(PROMPT + "x" for _ in range(4))]
    start = time.perf_counter()
    status, answer = call(server, "POST", "/get_reward", {"query": queries, "prompts": [PROMPT] * 6, "labels": labels})
    assert time.perf_counter() - start < BOUND
    assert status == 200
    assert answer["rewards"] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert answer["extra_logs"]["ifverify/failures"] == 5.0


def test_megabyte_of_special_tokens_answers_and_health_stays_up(server):
    query = PROMPT + "fine" + "<|im_end|>" * 95_000
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(
        call(server, "POST", "/", {"query": [query], "prompts": [PROMPT], "labels": [NO_COMMA]})))
    thread.start()
    start = time.perf_counter()
    assert call(server, "GET", "/health", timeout=5) == (200, {"status": "ok"})
    assert time.perf_counter() - start < 2.0
    thread.join(BOUND)
    assert out and out[0][0] == 200 and out[0][1]["rewards"] == [1.0]


@pytest.mark.parametrize("length", [b"+92", b"9_2", b"0x5c", b"92, 93", b"-1"])
def test_lenient_content_length_is_refused(server, length):
    reply = raw(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n" + b"{}" * 46)
    assert reply[9:12] == b"400", reply[:200]
    good(server)


def test_two_differing_content_lengths_are_refused(server):
    body = b'{"query": [], "labels": []}'
    reply = raw(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 27\r\nContent-Length: 5\r\n\r\n" + body)
    assert reply[9:12] == b"400", reply[:200]
    good(server)


def test_content_length_longer_than_the_body_times_out_cleanly(server):
    start = time.perf_counter()
    reply = raw(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}", wait=8)
    assert time.perf_counter() - start < 8
    assert reply == b"" or reply[9:12] == b"408", reply[:200]
    assert b"500" not in reply[:20]
    good(server)


def test_deeply_nested_body_is_400(server):
    body = b"[" * 100_000 + b"]" * 100_000
    status, answer = call(server, "POST", "/", body)
    assert status == 400 and "nested too deeply" in answer["error"]


def test_access_log_is_structured(server, caplog):
    with caplog.at_level(logging.INFO, logger="ifverify.serve.access"):
        good(server)
        time.sleep(0.1)
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ifverify.serve.access"]
    assert any(r["path"] == "/" and r["status"] == 200 and r["samples"] == 1 for r in records)


def test_connection_cap_and_slow_clients():
    with RewardServer(Reward(on_error="zero"), socket_timeout=1.0, max_connections=4, workers=0) as srv:
        idle = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(4)]
        for sock in idle:
            sock.sendall(b"GET /hea")  # a request that never finishes
        time.sleep(0.2)
        assert raw(srv, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")[9:12] == b"503"
        time.sleep(2.0)  # the slow ones are dropped after the socket timeout
        for sock in idle:
            assert sock.recv(1024) == b""
            sock.close()
        assert call(srv, "GET", "/health") == (200, {"status": "ok"})
        stats = call(srv, "GET", "/stats")[1]
        assert stats["refused_connections"] == 1 and stats["connections"] <= 1


def test_batch_past_its_deadline_fails_and_the_worker_is_replaced():
    with RewardServer(Reward(on_error="zero"), batch_deadline=0.05, workers=1) as srv:
        heavy = [{"id": "length.sentences", "params": {"relation": "at least", "num_sentences": 10 ** 6}},
                 {"id": "language:response_language", "params": {"language": "en"}}]
        text = " ".join(f"Sentence number {i} is here." for i in range(30_000))
        status, answer = call(srv, "POST", "/", {"query": [text], "labels": [json.dumps(heavy)]})
        assert status == 200 and answer["rewards"] == [0.0] and answer["extra_logs"]["ifverify/failures"] == 1.0
        assert call(srv, "GET", "/health") == (200, {"status": "ok"})
        assert call(srv, "GET", "/stats")[1]["workers_replaced"] == 1


def test_sigterm_stops_the_server_promptly_while_a_poison_batch_runs():
    import re
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "ifverify", "serve", "--port", "0", "--workers", "1"],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://[\d.]+:\d+", line).group()
        host, port = url[len("http://"):].split(":")
        body = json.dumps({"query": ["a" * 40 + "!"] * 64, "labels": [POISON] * 64}).encode()
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(0.3)
        start = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=BOUND) == 0
        assert time.perf_counter() - start < BOUND
        sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
