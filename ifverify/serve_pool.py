"""The reward server's scoring processes: a batch runs in a worker process, under a deadline.

Scoring holds the interpreter (regexes, tokenizers, a classifier), so it must not run where the HTTP
server answers health checks.  Each worker is a process that receives a batch of OpenRLHF samples
``(query, prompt, columns)`` over a pipe, scores it with :func:`ifverify.backends.openrlhf.score_samples`
and sends the :class:`~ifverify.rewards.reward.SampleResult` list back.  :meth:`WorkerPool.score` hands
a batch to an idle worker and waits at most ``deadline`` seconds: a worker past it (stuck in a checker)
or dead is killed and replaced, and that batch's samples get failure results (reward 0.0, counted).

Workers come from a ``forkserver`` where the platform has one (a clean single-threaded parent that
imported ifverify once, so a worker starts in milliseconds and no lock of the server's threads is
copied into it), else ``spawn``.  ``workers=0`` scores in a thread of the server process instead: for
a reward that cannot be pickled; it has no deadline.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ifverify.rewards.reward import Reward, SampleResult

log = logging.getLogger("ifverify.serve")

Sample = tuple[Any, Any, "dict[str, Any] | str"]

#: Seconds a new worker may take to import and warm up before starting it counts as failed.
START_TIMEOUT = 120.0


def _worker_main(conn: Any, reward: Reward) -> None:
    """A worker's loop: warm up, say "ready", then score each batch received until ``None`` or EOF."""
    from ifverify.backends.openrlhf import score_samples
    from ifverify.verifiers import warm_up

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    warm_up()
    conn.send("ready")
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        conn.send(score_samples(reward, batch))


class _Worker:
    """One scoring process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, reward: Reward, number: int) -> None:
        parent, child = ctx.Pipe()
        self.conn = parent
        self.process = ctx.Process(target=_worker_main, args=(child, reward), name=f"ifverify-serve-worker-{number}",
                                   daemon=True)
        self.process.start()
        child.close()  # so the parent's recv sees EOF when the worker dies
        if not self.conn.poll(START_TIMEOUT) or self.conn.recv() != "ready":
            self.kill()
            raise RuntimeError(f"scoring worker {number} did not start within {START_TIMEOUT:.0f} s")

    def run(self, batch: list[Sample]) -> list[SampleResult]:
        self.conn.send(batch)
        return self.conn.recv()  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self, timeout: float) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout)
        self.kill()


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload(["ifverify.serve_pool", "ifverify.backends.openrlhf"])
    return ctx


class WorkerPool:
    """``workers`` scoring processes (or, with 0, one scoring thread), used from one asyncio loop."""

    def __init__(self, reward: Reward, workers: int, deadline: float) -> None:
        if workers < 0 or deadline <= 0:
            raise ValueError("workers must be >= 0 and the batch deadline positive")
        self.reward, self.size, self.deadline = reward, workers, deadline
        self.replaced = 0
        self._ctx: Any = None
        self._idle: asyncio.Queue[_Worker | None] | None = None
        self._all: set[_Worker] = set()
        self._threads = ThreadPoolExecutor(max(1, workers) + 1, thread_name_prefix="ifverify-serve-pool")
        self._numbers = iter(range(1, 1 << 30))
        self._lock = threading.Lock()

    def _new(self) -> _Worker:
        worker = _Worker(self._ctx, self.reward, next(self._numbers))
        with self._lock:
            self._all.add(worker)
        return worker

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._idle = asyncio.Queue()
        if self.size == 0:
            self._idle.put_nowait(None)
            return
        self._ctx = _context()
        workers = await asyncio.gather(*(loop.run_in_executor(self._threads, self._new) for _ in range(self.size)))
        for worker in workers:
            self._idle.put_nowait(worker)

    async def score(self, batch: list[Sample]) -> list[SampleResult]:
        """The batch's results; never raises for a stuck or dead worker (its samples fail instead)."""
        assert self._idle is not None, "start() first"
        loop = asyncio.get_running_loop()
        worker = await self._idle.get()
        if worker is None:  # in-process scoring
            from ifverify.backends.openrlhf import score_samples

            try:
                return await loop.run_in_executor(self._threads, score_samples, self.reward, batch)
            finally:
                self._idle.put_nowait(None)
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._threads, worker.run, batch), self.deadline)
        except (asyncio.TimeoutError, EOFError, OSError) as exc:
            why = (f"scoring took over the {self.deadline:g} s batch deadline" if isinstance(exc, asyncio.TimeoutError)
                   else f"the scoring worker died ({type(exc).__name__})")
            log.warning("%s: %d sample(s) get failure rewards; the worker is replaced", why, len(batch))
            worker = await loop.run_in_executor(self._threads, self._replace, worker)
            return [SampleResult(0.0, [], why) for _ in batch]
        finally:
            self._idle.put_nowait(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            self.replaced += 1
        return self._new()

    def pids(self) -> list[int]:
        """The worker processes' ids (none with ``workers=0``)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]

    async def close(self, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            workers = list(self._all)
        await asyncio.gather(*(loop.run_in_executor(self._threads, w.stop, timeout) for w in workers))
        self._threads.shutdown(wait=True)
