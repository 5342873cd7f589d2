"""TRL reward functions over a :class:`~ifverify.rewards.reward.Reward`: picklable, named, never raising.

TRL calls each reward function with keywords only (``prompts``, ``completions``, ``completion_ids``,
every other dataset column as a per-row list, ``trainer_state``, ``log_metric``, ``log_extra``) and
logs its mean as ``rewards/<__name__>/mean``.  :class:`TRLReward` adds, per batch, the pass rate of
each constraint type as ``ifverify/pass_rate/<constraint id>`` and the failure count as
``ifverify/<__name__>/failures``.  It never raises into the trainer (TRL catches nothing).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ifverify.rewards.reward import PYTHON_HINT, Reward, SampleResult, SoftScorer

log = logging.getLogger("ifverify.backends.trl")

PASS_RATE_PREFIX = "ifverify/pass_rate/"


def pass_rates(results: Sequence[SampleResult]) -> dict[str, float]:
    """Mean verdict per constraint id over a batch's results (constraints without a verdict are skipped)."""
    verdicts: dict[str, list[bool]] = defaultdict(list)
    for sample in results:
        for result in sample.results:
            if result.verdict is not None:
                verdicts[result.id].append(bool(result.verdict))
    return {cid: sum(v) / len(v) for cid, v in sorted(verdicts.items())}


class TRLReward:
    """A TRL reward function over a :class:`Reward`: picklable, stable ``__name__``, never raises.

    Each call scores the batch once with :meth:`Reward.score_batch`, returns the rewards (``None`` for
    rows that could not be scored; TRL turns them into NaN and leaves them out), and, given TRL's
    ``log_metric``, logs the failures and (with ``per_constraint_metrics``) each constraint type's pass
    rate in the batch.
    """

    def __init__(self, reward: Reward, *, per_constraint_metrics: bool = True) -> None:
        self.reward = reward
        self.per_constraint_metrics = per_constraint_metrics
        self.__name__ = reward.__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reward!r}, per_constraint_metrics={self.per_constraint_metrics})"

    def __call__(self, *, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                 **columns: Any) -> list[float | None]:
        results = self._score(prompts, completions, columns)
        return self._finish(results, prompts, completions, columns)

    def _score(self, prompts: Sequence[Any] | None, completions: Sequence[Any] | None,
               columns: Mapping[str, Any]) -> list[SampleResult] | None:
        try:
            return self.reward.score_batch(prompts=prompts, completions=completions, **columns)
        except Exception as exc:  # a broken batch must not kill the training step
            log.warning("%s: the batch could not be scored (%s: %s); every row gets None",
                        self.__name__, type(exc).__name__, exc)
            return None

    def _finish(self, results: list[SampleResult] | None, prompts: Sequence[Any] | None,
                completions: Sequence[Any] | None, columns: Mapping[str, Any]) -> list[float | None]:
        if results is None:
            n = len(completions) if completions is not None else len(prompts or ())
            return [None] * n
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            failed = sum(1 for r in results if r.error is not None)
            _safe_log(log_metric, f"ifverify/{self.__name__}/failures", float(failed))
            if self.per_constraint_metrics:
                try:
                    rates = pass_rates(results)
                except Exception as exc:
                    log.debug("pass rates failed: %s", exc)
                    rates = {}
                for cid, rate in rates.items():
                    _safe_log(log_metric, PASS_RATE_PREFIX + cid, rate)
        return [r.reward for r in results]


class AsyncTRLReward(TRLReward):
    """:class:`TRLReward` with an ``async`` ``__call__``: the scoring runs in a worker thread.

    TRL 1.16 detects async reward callables (``async def __call__`` included), runs them on its own
    event loop in a daemon thread and gathers them concurrently; scoring in ``asyncio.to_thread`` keeps
    a slow classifier from blocking that loop (and other async reward functions on it).
    """

    async def __call__(self, *, prompts: Sequence[Any] | None = None,  # type: ignore[override]
                       completions: Sequence[Any] | None = None, **columns: Any) -> list[float | None]:
        try:
            results = await asyncio.to_thread(self._score, prompts, completions, columns)
        except Exception as exc:  # e.g. the thread could not start
            log.warning("%s: the batch could not be scored (%s: %s)", self.__name__, type(exc).__name__, exc)
            results = None
        return self._finish(results, prompts, completions, columns)


def make_reward_funcs(*, aggregation: str = "mean", mode: str = "strict", weights: Mapping[str, float] | None = None,
                      classifier: SoftScorer | str | Path | None = None, per_constraint_metrics: bool = True,
                      name: str | None = None, on_error: str = "none", threshold: float | None = None,
                      asynchronous: bool = False, classifier_hint: str = PYTHON_HINT) -> list[Callable[..., Any]]:
    """The ``reward_funcs`` list for ``trl.GRPOTrainer``: one :class:`TRLReward` (or :class:`AsyncTRLReward`).

    The arguments are :class:`Reward`'s (a bad aggregation, weights or classifier fails here, before
    training); ``name`` is the metric key, logged by TRL as ``rewards/<name>/mean``; ``classifier_hint`` names
    how the caller's user sets a classifier (see :class:`Reward`).
    """
    reward = Reward(aggregation=aggregation, mode=mode, weights=weights, on_error=on_error, classifier=classifier,
                    threshold=threshold, name=name, classifier_hint=classifier_hint)
    cls = AsyncTRLReward if asynchronous else TRLReward
    return [cls(reward, per_constraint_metrics=per_constraint_metrics)]


def _safe_log(log_metric: Callable[[str, float], Any], name: str, value: float) -> None:
    try:
        log_metric(name, value)
    except Exception as exc:  # logging must never break training
        log.debug("log_metric(%r) failed: %s", name, exc)
