"""An HTTP reward server speaking OpenRLHF's remote reward protocol.

OpenRLHF (``--reward.remote_url http://HOST:PORT/get_reward``) POSTs ``{"query": [...], "prompts": [...],
"labels": [...]}``; each query is the prompt and the response decoded with special tokens, each label the row's
constraints as a JSON string.  The answer is ``{"rewards": [...], "scores": [...], "extra_logs": {...}}`` with
the same ``extra_logs`` keys as the file-based reward (:mod:`ifverify.backends.openrlhf_reward`), averaged over
the request's samples.

Requests that arrive together (within ``batch_window_ms``) are merged into one :meth:`Reward.score_batch` call
by a single scoring thread, so soft constraints of concurrent requests share one classifier call.  Endpoints:

- ``POST /`` and ``POST /get_reward``: the protocol above;
- ``GET /health``: ``{"status": "ok"}``;
- ``GET /stats``: requests, batches, samples, mean batch size, errors.

Bodies over ``max_body`` bytes are refused (413) without being read; with ``token``, every endpoint but
``/health`` needs ``Authorization: Bearer <token>`` (401 otherwise).  Only the standard library is used.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import signal
import socket
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ifverify.backends.openrlhf import (  # noqa: F401  (the keys are part of this module's interface)
    CHECKED_PREFIX,
    FAILURES_KEY,
    PASS_RATE_KEY,
    PASSED_PREFIX,
    extra_logs,
    extract_response,
    label_columns,
)
from ifverify.rewards.reward import Reward

log = logging.getLogger("ifverify.serve")

REWARD_PATHS = ("/", "/get_reward")
#: Seconds a connection may sit idle or dribble a request before it is closed.
DEFAULT_SOCKET_TIMEOUT = 10.0
#: Bytes of an unread (refused) body drained before closing, so the client can read the error response.
_DRAIN_LIMIT = 256 * 1024


class RequestError(ValueError):
    """A request the server refuses: an HTTP status and a message naming the bad field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ShuttingDown(RuntimeError):
    """The server is shutting down and takes no new work."""


@dataclass
class _Job:
    """One request's samples, waiting for the scoring thread."""

    responses: list[str]
    columns: list[dict[str, Any]]
    future: Future[dict[str, Any]] = field(default_factory=Future)


def parse_payload(payload: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The responses and per-sample Reward columns of a request body; raises :class:`RequestError` (400).

    ``query`` and ``labels`` are required lists of equal length; ``prompts`` may be omitted (the whole query
    is then the response, less any assistant marker and special tokens).
    """
    if not isinstance(payload, Mapping):
        raise RequestError(400, f"body: expected a JSON object, got {type(payload).__name__}")
    queries = payload.get("query", payload.get("queries"))
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise RequestError(400, "query: expected a list of strings")
    labels = payload.get("labels")
    if not isinstance(labels, list):
        raise RequestError(400, "labels: expected a list")
    prompts = payload.get("prompts")
    if prompts is None:
        prompts = [None] * len(queries)
    if not isinstance(prompts, list) or not all(p is None or isinstance(p, str) for p in prompts):
        raise RequestError(400, "prompts: expected a list of strings")
    if len(labels) != len(queries):
        raise RequestError(400, f"lengths differ: query {len(queries)}, labels {len(labels)}")
    if len(prompts) != len(queries):
        raise RequestError(400, f"lengths differ: query {len(queries)}, prompts {len(prompts)}")
    columns = []
    for i, label in enumerate(labels):
        if isinstance(label, str):
            try:
                label = json.loads(label)
            except ValueError as exc:
                raise RequestError(400, f"labels[{i}]: not valid JSON ({exc})") from None
        try:
            columns.append(label_columns(label))
        except ValueError as exc:
            raise RequestError(400, f"labels[{i}]: {exc}") from None
    responses = [extract_response(q, p) for q, p in zip(queries, prompts, strict=True)]
    return responses, columns


class _Handler(BaseHTTPRequestHandler):
    """One connection; ``server.reward_server`` is the owning :class:`RewardServer`."""

    protocol_version = "HTTP/1.1"
    server_version = "ifverify-serve"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.reward_server.socket_timeout)
        self.server.reward_server._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.reward_server._track(self.connection, add=False)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        if self.server.reward_server.closing:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s - %s", self.address_string(), format % args)

    # -- responses ---------------------------------------------------------------------------------------

    def _send_json(self, status: int, body: Mapping[str, Any], *, unread_body: bool = False) -> None:
        data = json.dumps(body).encode("utf-8")
        if status >= 400:
            self.server.reward_server._count_error()
        if unread_body:
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if unread_body:
            self._drain()

    def _drain(self) -> None:
        """Half-close and discard a bounded part of an unread body, so the client sees the response."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.5)
            left = _DRAIN_LIMIT
            while left > 0 and (chunk := self.connection.recv(min(65536, left))):
                left -= len(chunk)
        except OSError:
            pass

    def _authorized(self) -> bool:
        token = self.server.reward_server.token
        if token is None:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())

    # -- methods -----------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._send_json(200, {"status": "ok"})
        elif not self._authorized():
            self._send_json(401, {"error": "unauthorized: send 'Authorization: Bearer <token>'"})
        elif path == "/stats":
            self._send_json(200, self.server.reward_server.stats())
        else:
            self._send_json(404, {"error": f"not found: GET {path}"})

    def do_POST(self) -> None:  # noqa: N802 - the base class's name
        server = self.server.reward_server
        path = self.path.split("?", 1)[0]
        has_body = "Content-Length" in self.headers or "Transfer-Encoding" in self.headers
        if path not in REWARD_PATHS:
            self._send_json(404, {"error": f"not found: POST {path}"}, unread_body=has_body)
            return
        if not self._authorized():
            self._send_json(401, {"error": "unauthorized: send 'Authorization: Bearer <token>'"},
                            unread_body=has_body)
            return
        try:
            body = self._read_body(server.max_body)
            try:
                payload = json.loads(body)
            except ValueError as exc:
                raise RequestError(400, f"body: not valid JSON ({exc})") from None
            responses, columns = parse_payload(payload)
            answer = server.submit(responses, columns).result()
        except RequestError as exc:
            self._send_json(exc.status, {"error": exc.message}, unread_body=exc.status in (411, 413))
        except ShuttingDown:
            self._send_json(503, {"error": "server is shutting down"})
        except Exception as exc:  # the scoring itself failed: never take the connection down silently
            log.exception("reward request failed")
            self._send_json(500, {"error": f"scoring failed: {type(exc).__name__}: {exc}"})
        else:
            self._send_json(200, answer)

    def _read_body(self, max_body: int) -> bytes:
        if "Transfer-Encoding" in self.headers:
            raise RequestError(411, "Content-Length required (chunked bodies are not accepted)")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise RequestError(411, "Content-Length required")
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError
        except ValueError:
            raise RequestError(400, f"Content-Length: not a non-negative integer: {length_header[:40]!r}") from None
        if length > max_body:
            raise RequestError(413, f"body too large: {length} bytes, the limit is {max_body}")
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise RequestError(400, f"body: expected {length} bytes, got {len(body)}")
        return body


class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose handler threads are joined on close."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    request_queue_size = 128
    reward_server: RewardServer


class RewardServer:
    """An HTTP reward server around a :class:`Reward` (see the module docstring).

    Args:
        reward: the reward; its ``score_batch`` runs on one scoring thread only.
        host, port: where to listen (``port=0`` picks a free port; see :attr:`port`).
        max_body: the largest request body accepted, in bytes (larger: 413).
        token: when given, requests need ``Authorization: Bearer <token>`` (else 401).
        batch_window_ms: how long the scoring thread waits for more requests after the first of a batch.
        max_batch: the most samples merged into one ``score_batch`` call (a larger request goes alone).
        socket_timeout: seconds a connection may be idle or slow before it is closed.
    """

    def __init__(self, reward: Reward, *, host: str = "127.0.0.1", port: int = 0, max_body: int = 1_000_000,
                 token: str | None = None, batch_window_ms: float = 5, max_batch: int = 256,
                 socket_timeout: float = DEFAULT_SOCKET_TIMEOUT) -> None:
        if max_body <= 0 or max_batch <= 0 or batch_window_ms < 0 or socket_timeout <= 0:
            raise ValueError("max_body, max_batch and socket_timeout must be positive, batch_window_ms >= 0")
        from ifverify.constraints.registry import default_registry

        self.reward = reward
        self.max_body = max_body
        self.token = token or None
        self.batch_window = batch_window_ms / 1000.0
        self.max_batch = max_batch
        self.socket_timeout = socket_timeout
        self.closing = False
        self.constraint_ids: tuple[str, ...] = tuple(sorted(default_registry().ids()))
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._counts = {"requests": 0, "samples": 0, "batches": 0, "errors": 0}
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.reward_server = self
        self._serve_thread: threading.Thread | None = None
        self._worker = threading.Thread(target=self._score_loop, name="ifverify-serve-scorer", daemon=True)
        self._worker.start()
        self._stopped = False

    # -- addresses ---------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> RewardServer:
        """Serve in a background thread; returns ``self``."""
        if self._serve_thread is None:
            self._serve_thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                                  name="ifverify-serve-accept", daemon=True)
            self._serve_thread.start()
        return self

    def __enter__(self) -> RewardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM (in the main thread), then shut down gracefully."""
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        try:
            self.start()
            while not stop.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.shutdown()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop accepting, finish queued work, close idle connections and join every thread."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self.closing = True
        if self._serve_thread is not None:
            self._httpd.shutdown()
            self._serve_thread.join(timeout)
        self._queue.put(None)  # after everything queued so far: the scorer finishes it, then exits
        self._worker.join(timeout)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # wake idle keep-alive connections; their handler threads then end
            try:
                conn.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        self._httpd.server_close()  # closes the listener, joins the handler threads

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # -- scoring -----------------------------------------------------------------------------------------

    def submit(self, responses: list[str], columns: list[dict[str, Any]]) -> Future[dict[str, Any]]:
        """Queue one request's samples; the future gives its ``{"rewards", "scores", "extra_logs"}``."""
        job = _Job(responses, columns)
        with self._lock:
            if self.closing:
                raise ShuttingDown("server is shutting down")
            self._counts["requests"] += 1
            self._counts["samples"] += len(responses)
            self._queue.put(job)
        return job.future

    def _score_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch, size = [first], len(first.responses)
            deadline = time.monotonic() + self.batch_window
            while size < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    job = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
                size += len(job.responses)
            self._score(batch)

    def _score(self, batch: list[_Job]) -> None:
        """One ``score_batch`` call for the jobs; each job's future gets its share."""
        with self._lock:
            self._counts["batches"] += 1
        keys = sorted({key for job in batch for cols in job.columns for key in cols})
        completions = [r for job in batch for r in job.responses]
        columns = {key: [cols.get(key) for job in batch for cols in job.columns] for key in keys}
        try:
            results = self.reward.score_batch(completions=completions, **columns)
        except Exception as exc:
            for job in batch:
                job.future.set_exception(exc)
            return
        at = 0
        for job in batch:
            mine = results[at:at + len(job.responses)]
            at += len(job.responses)
            try:
                rewards = [float(r.reward) if r.reward is not None else 0.0 for r in mine]
                job.future.set_result({"rewards": rewards, "scores": list(rewards),
                                       "extra_logs": extra_logs(mine, self.constraint_ids)})
            except Exception as exc:  # pragma: no cover - defensive
                job.future.set_exception(exc)

    def _count_error(self) -> None:
        with self._lock:
            self._counts["errors"] += 1

    def stats(self) -> dict[str, Any]:
        """Requests, samples, batches, mean batch size (samples and requests per batch) and error responses."""
        with self._lock:
            counts: dict[str, Any] = dict(self._counts)
        batches = counts["batches"]
        counts["mean_batch_size"] = counts["samples"] / batches if batches else 0.0
        counts["mean_batch_requests"] = counts["requests"] / batches if batches else 0.0
        return counts
