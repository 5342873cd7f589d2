"""The HTTP reward server: a real server on 127.0.0.1 (port 0), driven with http.client and raw sockets."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from ifverify import serve as serve_module
from ifverify.cli.serve import serve
from ifverify.rewards.reward import Reward
from ifverify.serve import RewardServer

NO_COMMA = json.dumps([{"id": "punctuation.no_comma", "params": {}}])
TWO = json.dumps([{"id": "punctuation.no_comma", "params": {}},
                  {"id": "length.words", "params": {"relation": "at least", "num_words": 3}}])
PROMPT = "<|im_start|>user\nWrite about cats.<|im_end|>\n<|im_start|>assistant\n"
EOS = "<|im_end|>"


@pytest.fixture
def server() -> Iterator[RewardServer]:
    srv = RewardServer(Reward(on_error="zero"), batch_window_ms=20, socket_timeout=2.0).start()
    yield srv
    srv.shutdown()


def request(srv: RewardServer, method: str, path: str, body: Any = None, *,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def payload(responses: list[str], labels: list[str]) -> dict[str, Any]:
    return {"query": [PROMPT + r + EOS for r in responses], "prompts": [PROMPT] * len(responses), "labels": labels}


def test_protocol_round_trip(server: RewardServer) -> None:
    status, answer = request(server, "POST", "/get_reward",
                             payload(["no commas here at all", "a, b", "hi"], [NO_COMMA, NO_COMMA, TWO]))
    assert status == 200
    assert answer["rewards"] == [1.0, 0.0, 0.5]
    assert answer["scores"] == answer["rewards"]
    logs = answer["extra_logs"]
    assert logs["ifverify/failures"] == 0.0
    assert logs["ifverify/checked/punctuation.no_comma"] == pytest.approx(1.0)
    assert logs["ifverify/passed/punctuation.no_comma"] == pytest.approx(2 / 3)
    assert logs["ifverify/checked/length.words"] == pytest.approx(1 / 3)
    status, again = request(server, "POST", "/", payload(["fine"], [NO_COMMA]))
    assert status == 200 and again["rewards"] == [1.0]


def test_extra_logs_keys_match_the_reward_file(server: RewardServer) -> None:
    from ifverify.backends import openrlhf_reward

    assert (serve_module.FAILURES_KEY, serve_module.PASS_RATE_KEY, serve_module.CHECKED_PREFIX,
            serve_module.PASSED_PREFIX) == (openrlhf_reward.FAILURES_KEY, openrlhf_reward.PASS_RATE_KEY,
                                            openrlhf_reward.CHECKED_PREFIX, openrlhf_reward.PASSED_PREFIX)
    query, prompt = PROMPT + "a, b" + EOS, PROMPT
    expected = openrlhf_reward.reward_func([query], [prompt], [TWO])
    status, answer = request(server, "POST", "/", {"query": [query], "prompts": [prompt], "labels": [TWO]})
    assert status == 200
    assert set(answer["extra_logs"]) == set(expected["extra_logs"])
    assert answer["rewards"] == pytest.approx([float(x) for x in expected["rewards"]])


def test_unscorable_sample_gets_zero_and_counts_as_failure(server: RewardServer) -> None:
    bad = json.dumps([{"id": "no.such.constraint", "params": {}}])
    status, answer = request(server, "POST", "/", payload(["x", "y"], [bad, NO_COMMA]))
    assert status == 200
    assert answer["rewards"] == [0.0, 1.0]
    assert answer["extra_logs"]["ifverify/failures"] == 1.0


def test_concurrent_requests_are_batched(server: RewardServer) -> None:
    n = 16
    texts = [("a, b " if i % 3 == 0 else "plain words ") + str(i) for i in range(n)]
    out: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def client(i: int) -> None:
        barrier.wait()
        out[i] = request(server, "POST", "/get_reward", payload([texts[i], texts[i]], [NO_COMMA, TWO]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for i, (status, answer) in enumerate(out):
        assert status == 200
        expected = 0.0 if i % 3 == 0 else 1.0
        assert answer["rewards"] == [expected, (expected + 1.0) / 2]
    status, stats = request(server, "GET", "/stats")
    assert status == 200
    assert stats["requests"] == n and stats["samples"] == 2 * n
    assert stats["batches"] < n
    assert stats["mean_batch_size"] > 2
    assert stats["errors"] == 0


def test_health(server: RewardServer) -> None:
    assert request(server, "GET", "/health") == (200, {"status": "ok"})
    assert request(server, "GET", "/nowhere")[0] == 404


def test_oversized_content_length_is_refused_without_reading(server: RewardServer) -> None:
    start = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10000000\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert time.monotonic() - start < 2
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert "too large" in json.loads(body)["error"]


def test_oversized_body_sent_in_full(server: RewardServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        try:
            conn.request("POST", "/", body=b"[" + b"1," * 1_000_000 + b"1]")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while the body was still going out
        response = conn.getresponse()
        assert response.status == 413
        assert "too large" in json.loads(response.read())["error"]
    except (BrokenPipeError, ConnectionResetError):
        pass  # the reset beat the response: the server did refuse (stats below)
    finally:
        conn.close()
    assert request(server, "GET", "/stats")[1]["errors"] == 1


def test_missing_and_bad_content_length(server: RewardServer) -> None:
    for headers, code in ((b"", b"411"), (b"Content-Length: lots\r\n", b"400")):
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
            reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 " + code) or reply.startswith(b"HTTP/1.0 " + code), reply


def test_malformed_json(server: RewardServer) -> None:
    status, answer = request(server, "POST", "/", b"{not json")
    assert status == 400
    assert answer["error"].startswith("body: not valid JSON (")


@pytest.mark.parametrize(("body", "message"), [
    ({"query": "text", "labels": []}, "query: expected a list of strings"),
    ({"query": ["a", "b", "c"], "labels": [NO_COMMA, NO_COMMA]}, "lengths differ: query 3, labels 2"),
    ({"query": ["a"], "prompts": [1], "labels": [NO_COMMA]}, "prompts: expected a list of strings"),
    ([1, 2], "body: expected a JSON object"),
])
def test_bad_fields_are_named(server: RewardServer, body: Any, message: str) -> None:
    status, answer = request(server, "POST", "/", body)
    assert status == 400
    assert answer["error"].startswith(message), answer


def test_bearer_token() -> None:
    with RewardServer(Reward(on_error="zero"), token="s3cret") as srv:
        body = payload(["ok"], [NO_COMMA])
        assert request(srv, "POST", "/", body)[0] == 401
        assert request(srv, "POST", "/", body, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert request(srv, "GET", "/stats")[0] == 401
        assert request(srv, "GET", "/health")[0] == 200
        status, answer = request(srv, "POST", "/", body, headers={"Authorization": "Bearer s3cret"})
        assert status == 200 and answer["rewards"] == [1.0]
        status, stats = request(srv, "GET", "/stats", headers={"Authorization": "Bearer s3cret"})
        assert status == 200 and stats["errors"] == 3


def test_slow_client_does_not_block_others(server: RewardServer) -> None:
    slow = socket.create_connection((server.host, server.port), timeout=5)
    try:
        slow.sendall(b"POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Len")
        start = time.monotonic()
        status, answer = request(server, "POST", "/", payload(["fine"], [NO_COMMA]))
        assert status == 200 and answer["rewards"] == [1.0]
        assert time.monotonic() - start < 1.5
        # the server drops the slow client after its socket timeout (2 s here)
        slow.settimeout(5)
        assert slow.recv(1024) == b""
    finally:
        slow.close()


def test_shutdown_finishes_work_and_joins() -> None:
    srv = RewardServer(Reward(on_error="zero"), batch_window_ms=200).start()
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(request(srv, "POST", "/", payload(["x"], [NO_COMMA]))))
    thread.start()
    idle = http.client.HTTPConnection(srv.host, srv.port, timeout=5)  # a keep-alive connection left idle
    idle.request("GET", "/health")
    idle.getresponse().read()
    time.sleep(0.05)
    start = time.monotonic()
    srv.shutdown()
    assert time.monotonic() - start < 3
    thread.join(5)
    assert results == [(200, {"rewards": [1.0], "scores": [1.0], "extra_logs": results[0][1]["extra_logs"]})]
    assert not any(t.name.startswith("ifverify-serve") and t.is_alive() for t in threading.enumerate())
    with pytest.raises(OSError):
        socket.create_connection((srv.host, srv.port), timeout=1).close()
    idle.close()
    srv.shutdown()  # idempotent


def test_cli_options() -> None:
    runner = CliRunner()
    result = runner.invoke(serve, ["--help"])
    assert result.exit_code == 0 and "--batch-window-ms" in result.output
    result = runner.invoke(serve, ["--token-env", "IFVERIFY_TEST_UNSET_TOKEN_VAR"], env={})
    assert result.exit_code == 2 and "unset" in result.output


def test_docs_curl_example_runs(server: RewardServer) -> None:
    import re
    import subprocess
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "serve.md").read_text(encoding="utf-8")
    command = next(block for block in re.findall(r"```bash\n(.*?)```", page, re.DOTALL) if "curl" in block)
    done = subprocess.run(["bash", "-c", command.replace("http://127.0.0.1:8000", server.url)],
                          capture_output=True, text=True, timeout=30, check=True)
    answer = json.loads(done.stdout)
    assert answer["rewards"] == [1.0] and answer["scores"] == [1.0]
    assert answer["extra_logs"]["ifverify/failures"] == 0.0
    assert answer["extra_logs"]["ifverify/constraint_pass_rate"] == 1.0
