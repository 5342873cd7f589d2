"""The reward server's scoring processes: a batch runs in a worker process, under a deadline.

Scoring holds the interpreter (regexes, tokenizers, a classifier), so it must not run where the HTTP
server answers health checks.  Each worker is a process that receives a batch of OpenRLHF samples
``(query, prompt, columns)``, grouped by request, over a pipe, scores them in one call
(:func:`ifverify.backends.openrlhf.score_samples`) and sends each request's answer back.  :meth:`WorkerPool.score` hands
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
Answer = dict[str, Any]

#: Seconds a new worker may take to import and warm up before starting it counts as failed.
START_TIMEOUT = 120.0


def answer_jobs(reward: Reward, jobs: list[list[Sample]], constraint_ids: tuple[str, ...]) -> tuple[list[Answer], int]:
    """Each job's ``{"rewards", "scores", "extra_logs"}`` from one scoring call over all their samples,
    and the number of failed samples.  The answers are built here, in the worker, so the process that
    serves HTTP only encodes them."""
    from ifverify.backends.openrlhf import score_samples

    results = score_samples(reward, [sample for job in jobs for sample in job])
    return _answers(jobs, results, constraint_ids), sum(r.error is not None for r in results)


def failed_answers(jobs: list[list[Sample]], why: str, constraint_ids: tuple[str, ...]) -> tuple[list[Answer], int]:
    """Answers giving every sample of ``jobs`` a failure (reward 0.0, counted)."""
    results = [SampleResult(0.0, [], why) for job in jobs for _ in job]
    return _answers(jobs, results, constraint_ids), len(results)


def _answers(jobs: list[list[Sample]], results: list[SampleResult], constraint_ids: tuple[str, ...]) -> list[Answer]:
    from ifverify.backends.openrlhf import extra_logs

    answers, at = [], 0
    for job in jobs:
        mine = results[at:at + len(job)]
        at += len(job)
        rewards = [float(r.reward) if r.reward is not None else 0.0 for r in mine]
        answers.append({"rewards": rewards, "scores": list(rewards), "extra_logs": extra_logs(mine, constraint_ids)})
    return answers


def _worker_main(conn: Any, reward: Reward, constraint_ids: tuple[str, ...]) -> None:
    """A worker's loop: warm up, say "ready", then answer each batch of jobs received until ``None`` or EOF."""
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
        conn.send(answer_jobs(reward, batch, constraint_ids))


class _Worker:
    """One scoring process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, reward: Reward, number: int, constraint_ids: tuple[str, ...]) -> None:
        parent, child = ctx.Pipe()
        self.conn = parent
        self.process = ctx.Process(target=_worker_main, args=(child, reward, constraint_ids),
                                   name=f"ifverify-serve-worker-{number}", daemon=True)
        self.process.start()
        child.close()  # so the parent's recv sees EOF when the worker dies
        if not self.conn.poll(START_TIMEOUT) or self.conn.recv() != "ready":
            self.kill()
            raise RuntimeError(f"scoring worker {number} did not start within {START_TIMEOUT:.0f} s")

    def run(self, jobs: list[list[Sample]]) -> tuple[list[Answer], int]:
        self.conn.send(jobs)
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

    def __init__(self, reward: Reward, workers: int, deadline: float, constraint_ids: tuple[str, ...]) -> None:
        if workers < 0 or deadline <= 0:
            raise ValueError("workers must be >= 0 and the batch deadline positive")
        self.reward, self.size, self.deadline = reward, workers, deadline
        self.constraint_ids = constraint_ids
        self.replaced = 0
        self._ctx: Any = None
        self._idle: asyncio.Queue[_Worker | None] | None = None
        self._all: set[_Worker] = set()
        self._threads = ThreadPoolExecutor(max(1, workers) + 1, thread_name_prefix="ifverify-serve-pool")
        self._numbers = iter(range(1, 1 << 30))
        self._lock = threading.Lock()

    def _new(self) -> _Worker:
        worker = _Worker(self._ctx, self.reward, next(self._numbers), self.constraint_ids)
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

    async def score(self, jobs: list[list[Sample]]) -> tuple[list[Answer], int]:
        """Each job's answer and the failed samples' count; a stuck or dead worker fails the jobs'
        samples instead of raising."""
        assert self._idle is not None, "start() first"
        loop = asyncio.get_running_loop()
        worker = await self._idle.get()
        if worker is None:  # in-process scoring
            try:
                return await loop.run_in_executor(self._threads, answer_jobs, self.reward, jobs, self.constraint_ids)
            finally:
                self._idle.put_nowait(None)
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._threads, worker.run, jobs), self.deadline)
        except (asyncio.TimeoutError, EOFError, OSError) as exc:
            why = (f"scoring took over the {self.deadline:g} s batch deadline" if isinstance(exc, asyncio.TimeoutError)
                   else f"the scoring worker died ({type(exc).__name__})")
            count = sum(len(job) for job in jobs)
            log.warning("%s: %d sample(s) get failure rewards; the worker is replaced", why, count)
            worker = await loop.run_in_executor(self._threads, self._replace, worker)
            return failed_answers(jobs, why, self.constraint_ids)
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
