"""An HTTP reward server speaking OpenRLHF's remote reward protocol, on aiohttp.

OpenRLHF (``--reward.remote_url http://HOST:PORT/get_reward``) POSTs ``{"query": [...], "prompts": [...],
"labels": [...]}``; each query is the prompt and the response decoded with special tokens, each label the row's
constraints as a JSON string.  The answer is ``{"rewards": [...], "scores": [...], "extra_logs": {...}}`` with
the same ``extra_logs`` keys as the file-based reward (:mod:`ifverify.backends.openrlhf_reward`), averaged over
the request's samples.  ``docs/serve.md`` documents the protocol, errors and limits.

- Requests that arrive together (within ``batch_window_ms``, up to ``max_batch`` samples) are merged into one
  scoring call, so soft constraints of concurrent requests share one classifier call.
- Scoring runs in worker processes (:mod:`ifverify.serve_pool`) under a per-batch deadline: the event loop
  never scores, so ``/health`` and other requests answer while a batch runs, and a stuck worker is replaced
  while its samples get failure rewards.
- A sample that cannot be scored (a malformed label, a bad query) gets reward 0.0 and counts in
  ``extra_logs["ifverify/failures"]``; the request still answers 200.  Only a malformed request is a 4xx.
- Limits: bodies over ``max_body`` bytes (413, refused from the Content-Length without being read), a
  request body that does not arrive within ``socket_timeout`` (408), connections idle or dribbling headers
  for ``socket_timeout`` (closed), more than ``max_connections`` open connections (503 and closed).
  Request framing (Content-Length, chunking) is parsed by aiohttp's strict HTTP parser.
- With ``token``, every endpoint but ``/health`` needs ``Authorization: Bearer <token>`` (401 otherwise).
- Each request is logged as one JSON object on the ``ifverify.serve.access`` logger (INFO).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ifverify.backends.openrlhf import (  # noqa: F401  (the keys are part of this module's interface)
    CHECKED_PREFIX,
    FAILURES_KEY,
    PASS_RATE_KEY,
    PASSED_PREFIX,
    extra_logs,
    parse_label,
)
from ifverify.rewards.reward import Reward
from ifverify.serve_pool import Sample, WorkerPool

log = logging.getLogger("ifverify.serve")
access_log = logging.getLogger("ifverify.serve.access")

REWARD_PATHS = ("/", "/get_reward")
ALONE_BYTES = 64 * 1024
#: Seconds a connection may sit idle, dribble its headers or its body before it is closed.
DEFAULT_SOCKET_TIMEOUT = 10.0
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
         b"Content-Length: 40\r\n\r\n" + b'{"error": "too many open connections"}\n'.ljust(40))


class RequestError(ValueError):
    """A request the server refuses: an HTTP status and a message naming the bad field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Job:
    """One request's samples, waiting for a batch."""

    samples: list[Sample]
    future: asyncio.Future[dict[str, Any]]
    #: a large body (over ``ALONE_BYTES``) is scored in a batch of its own, so a megabyte of text does
    #: not delay the small requests that arrived with it
    alone: bool = False


@dataclass
class _Conn:
    """What the watchdog knows of one connection."""

    since: float
    busy: int = 0


def parse_payload(payload: Any) -> list[Sample]:
    """The samples ``(query, prompt, columns or label error)`` of a request body.

    Raises :class:`RequestError` (400) when the request as a whole is malformed: ``query`` and ``labels``
    are required lists of equal length, ``prompts`` (optional) a list of strings.  A label that is not
    valid is not a request error: that sample fails alone (see :func:`ifverify.backends.openrlhf.parse_label`).
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
    return [(q, p, parse_label(label)) for q, p, label in zip(queries, prompts, labels, strict=True)]


def default_workers() -> int:
    """One scoring process per CPU but one (the server's own), between 1 and 8: on 2 CPUs one worker
    gave 1.3x the requests/s of two and half the p99 latency (``benchmarks/bench_serve.py``)."""
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def _answer(status: int, body: Mapping[str, Any], *, close: bool = False) -> Any:
    from aiohttp import web

    response = web.json_response(body, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if close:
        response.force_close()
    return response


class RewardServer:
    """An HTTP reward server around a :class:`Reward` (see the module docstring).

    Worker processes come from multiprocessing's forkserver, which imports the main module again: a
    script that starts a server needs the ``if __name__ == "__main__":`` guard (or ``workers=0``).

    Args:
        reward: the reward (pickled into each worker process).
        host, port: where to listen (``port=0`` picks a free port; see :attr:`port`).
        max_body: the largest request body accepted, in bytes (larger: 413).
        token: when given, requests need ``Authorization: Bearer <token>`` (else 401).
        batch_window_ms: how long to wait for more requests after the first of a batch.
        max_batch: the most samples merged into one scoring call (a larger request goes alone).
        socket_timeout: seconds a connection may be idle or slow (headers or body) before it is closed.
        workers: scoring processes (0: score in a thread of this process, without a deadline); default
            :func:`default_workers`.
        batch_deadline: seconds a batch may take before its worker is replaced and its samples fail.
        max_connections: open connections beyond this are answered 503 and closed.
    """

    def __init__(self, reward: Reward, *, host: str = "127.0.0.1", port: int = 0, max_body: int = 1_000_000,
                 token: str | None = None, batch_window_ms: float = 5, max_batch: int = 256,
                 socket_timeout: float = DEFAULT_SOCKET_TIMEOUT, workers: int | None = None,
                 batch_deadline: float = 60.0, max_connections: int = 512) -> None:
        if max_body <= 0 or max_batch <= 0 or batch_window_ms < 0 or socket_timeout <= 0 or max_connections <= 0:
            raise ValueError("max_body, max_batch, socket_timeout and max_connections must be positive, "
                             "batch_window_ms >= 0")
        try:
            import aiohttp  # noqa: F401
        except ImportError:
            raise ImportError("ifverify serve needs aiohttp: pip install 'ifverify[serve]'") from None
        from ifverify.constraints.registry import default_registry

        self.reward = reward
        self.max_body = max_body
        self.token = token or None
        self.batch_window = batch_window_ms / 1000.0
        self.max_batch = max_batch
        self.socket_timeout = socket_timeout
        self.max_connections = max_connections
        self.closing = False
        self.constraint_ids: tuple[str, ...] = tuple(sorted(default_registry().ids()))
        self._pool = WorkerPool(reward, default_workers() if workers is None else workers, batch_deadline,
                                self.constraint_ids)
        self._counts = {"requests": 0, "samples": 0, "batches": 0, "errors": 0, "failures": 0,
                        "refused_connections": 0, "closed_slow": 0}
        self._sock = socket.create_server((host, port), backlog=1024)
        self._sock.setblocking(False)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._conns: dict[Any, _Conn] = {}
        self._lock = threading.Lock()

    # -- addresses ---------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._sock.getsockname()[0])

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> RewardServer:
        """Start the workers and serve from a background thread; returns ``self`` once it answers."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ifverify-serve-loop", daemon=True)
            self._thread.start()
            self._started.wait()
            if self._start_error is not None:
                self._thread.join()
                raise RuntimeError(f"the reward server could not start: {self._start_error}") from self._start_error
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
        """Refuse new requests (503), finish queued work, close connections, stop the workers, join."""
        loop, thread = self._loop, self._thread
        if thread is None or loop is None or not thread.is_alive():
            self._sock.close()
            return
        self.closing = True
        if self._stop is not None:
            loop.call_soon_threadsafe(self._stop.set)
        thread.join(timeout)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        from aiohttp import web

        self._stop = asyncio.Event()
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        try:
            await self._pool.start()
            app = web.Application(client_max_size=self.max_body, middlewares=[self._middleware])
            for path in REWARD_PATHS:
                app.router.add_post(path, self._reward)
            app.router.add_get("/health", self._health)
            app.router.add_get("/stats", self._stats)
            # aiohttp logs each malformed request (bad framing: answered 400) on this logger.
            runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=self.socket_timeout,
                                   lingering_time=1.0, shutdown_timeout=5.0,
                                   logger=logging.getLogger("ifverify.serve.http"))
            await runner.setup()
            self._track(runner.server)
            await web.SockSite(runner, self._sock).start()
        except BaseException as exc:
            self._start_error = exc
            self._started.set()
            await self._pool.close()
            self._sock.close()
            return
        batcher = asyncio.create_task(self._batch_loop())
        watchdog = asyncio.create_task(self._watch())
        self._started.set()
        await self._stop.wait()
        self._queue.put_nowait(None)  # after everything queued: the batcher finishes it, then exits
        await batcher
        watchdog.cancel()
        await runner.cleanup()
        await self._pool.close()
        self._sock.close()

    # -- connections: cap and watchdog -------------------------------------------------------------------

    def _track(self, server: Any) -> None:
        """Hook aiohttp's server: count connections, refuse those over the cap."""
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: Any) -> None:
            made(handler, transport)
            if len(self._conns) >= self.max_connections:
                # Answer 503 without reading the request, then close (a moment later: closing with the
                # request unread would reset the connection before the client reads the answer).
                self._count("refused_connections")
                transport.pause_reading()
                transport.write(_BUSY)
                if transport.can_write_eof():
                    transport.write_eof()
                asyncio.get_running_loop().call_later(1.0, transport.close)
                return
            self._conns[handler] = _Conn(time.monotonic())

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            self._conns.pop(handler, None)
            lost(handler, exc)

        server.connection_made, server.connection_lost = connection_made, connection_lost

    async def _watch(self) -> None:
        """Close connections with no request in progress for ``socket_timeout``: idle keep-alives and
        clients that dribble their headers (aiohttp itself has no header timeout)."""
        while True:
            await asyncio.sleep(min(0.5, self.socket_timeout / 4))
            now = time.monotonic()
            for handler, conn in list(self._conns.items()):
                if conn.busy == 0 and now - conn.since > self.socket_timeout:
                    self._conns.pop(handler, None)
                    self._count("closed_slow")
                    handler.force_close()

    # -- HTTP --------------------------------------------------------------------------------------------

    @property
    def _middleware(self) -> Callable[..., Awaitable[Any]]:
        from aiohttp import web

        @web.middleware
        async def middleware(request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
            conn = self._conns.get(request.protocol)
            if conn is not None:
                conn.busy += 1
            start = time.perf_counter()
            try:
                if request.path != "/health" and not self._authorized(request):
                    response = _answer(401, {"error": "unauthorized: send 'Authorization: Bearer <token>'"},
                                       close=request.can_read_body)
                else:
                    response = await handler(request)
            except web.HTTPException as exc:  # aiohttp's own: 404, 405, 413 on reading
                response = _answer(exc.status, {"error": exc.reason if exc.status != 404
                                                else f"not found: {request.method} {request.path}"},
                                   close=exc.status == 413)
            finally:
                if conn is not None:
                    conn.busy -= 1
                    conn.since = time.monotonic()
            if response.status >= 400:
                self._count("errors")
            if access_log.isEnabledFor(logging.INFO):
                took = round(1000 * (time.perf_counter() - start), 2)
                access_log.info(json.dumps({"remote": request.remote, "method": request.method, "path": request.path,
                                            "status": response.status, "ms": took, "bytes_in": request.content_length,
                                            "samples": request.get("samples")}))
            return response

        return middleware

    def _authorized(self, request: Any) -> bool:
        if self.token is None:
            return True
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    async def _health(self, request: Any) -> Any:
        return _answer(200, {"status": "ok"})

    async def _stats(self, request: Any) -> Any:
        return _answer(200, self.stats())

    async def _reward(self, request: Any) -> Any:
        try:
            samples = parse_payload(await self._payload(request))
        except RequestError as exc:
            return _answer(exc.status, {"error": exc.message}, close=exc.status in (408, 411, 413))
        if self.closing:
            return _answer(503, {"error": "server is shutting down"})
        request["samples"] = len(samples)
        job = _Job(samples, asyncio.get_running_loop().create_future(), (request.content_length or 0) > ALONE_BYTES)
        self._count("requests")
        self._count("samples", len(samples))
        self._queue.put_nowait(job)
        return _answer(200, await job.future)

    async def _payload(self, request: Any) -> Any:
        if request.headers.get("Transfer-Encoding"):
            raise RequestError(411, "Content-Length required (chunked bodies are not accepted)")
        length = request.content_length
        if length is None:
            raise RequestError(411, "Content-Length required")
        if length > self.max_body:
            raise RequestError(413, f"body too large: {length} bytes, the limit is {self.max_body}")
        try:
            body = await asyncio.wait_for(request.read(), self.socket_timeout)
        except asyncio.TimeoutError:
            raise RequestError(408, f"body not received within {self.socket_timeout:g} s") from None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RequestError(400, f"body: not valid JSON ({exc})") from None
        except RecursionError:
            raise RequestError(400, "body: nested too deeply") from None

    # -- batching ----------------------------------------------------------------------------------------

    async def _batch_loop(self) -> None:
        """Gather queued jobs into batches once a worker is free; each batch scores in its own task."""
        running: set[asyncio.Task[None]] = set()
        stopping = False
        held: _Job | None = None  # a job that must not join the batch being gathered: it opens the next
        slots = asyncio.Semaphore(max(1, self._pool.size))  # one batch in flight per worker; the rest queue up
        while not stopping or held is not None:
            await slots.acquire()
            first, held = (held, None) if held is not None else (await self._queue.get(), None)
            if first is None:
                slots.release()
                break
            batch, size = [first], len(first.samples)
            if not first.alone and self.batch_window > 0 and self._queue.empty():
                await asyncio.sleep(self.batch_window)  # let the requests arriving together queue up
            while size < self.max_batch and not first.alone and not stopping:
                try:
                    job = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if job is None:
                    stopping = True
                    break
                if job.alone:
                    held = job
                    break
                batch.append(job)
                size += len(job.samples)
            task = asyncio.create_task(self._score(batch))
            running.add(task)
            task.add_done_callback(running.discard)
            task.add_done_callback(lambda _: slots.release())
        if running:
            await asyncio.gather(*running)

    async def _score(self, batch: list[_Job]) -> None:
        """One scoring call for the jobs; each job's future gets its answer.  Never raises."""
        from ifverify.serve_pool import failed_answers

        self._count("batches")
        jobs = [job.samples for job in batch]
        try:
            answers, failures = await self._pool.score(jobs)
        except Exception as exc:  # the pool could not run it at all (a worker failed to start)
            log.warning("a batch could not be scored: %s: %s", type(exc).__name__, exc)
            answers, failures = failed_answers(jobs, f"{type(exc).__name__}: {exc}", self.constraint_ids)
        self._count("failures", failures)
        for job, answer in zip(batch, answers, strict=True):
            if not job.future.done():
                job.future.set_result(answer)

    # -- stats -------------------------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def worker_pids(self) -> list[int]:
        """The scoring processes' ids (for monitoring their memory)."""
        return self._pool.pids()

    def stats(self) -> dict[str, Any]:
        """Requests, samples, batches, mean batch size, error responses, failed samples, refused and
        slow connections closed, replaced workers, and open connections."""
        with self._lock:
            counts: dict[str, Any] = dict(self._counts)
        batches = counts["batches"]
        counts["mean_batch_size"] = counts["samples"] / batches if batches else 0.0
        counts["mean_batch_requests"] = counts["requests"] / batches if batches else 0.0
        counts["workers_replaced"] = self._pool.replaced
        counts["connections"] = len(self._conns)
        return counts
