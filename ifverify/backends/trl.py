"""TRL (``trl==1.16.0``) backend: ifverify rewards as ``GRPOTrainer`` reward functions, and curriculum runs.

Reward functions::

    from trl import GRPOConfig, GRPOTrainer
    from ifverify.backends.trl import curriculum_datasets, make_reward_funcs, train_curriculum

    levels = curriculum_datasets("curriculum.jsonl")             # {1: Dataset, 2: Dataset, ...}
    trainer = GRPOTrainer(model=..., reward_funcs=make_reward_funcs(), args=GRPOConfig(...),
                          train_dataset=levels[1])
    stages = train_curriculum(trainer, list(levels.values()))    # L1, then L2, ... one optimizer

TRL calls each reward function with keywords only (``prompts``, ``completions``, ``completion_ids``,
every other dataset column as a per-row list, ``trainer_state``, ``log_metric``, ``log_extra``) and
logs its mean as ``rewards/<__name__>/mean``.  :class:`TRLReward` adds, per batch, the pass rate of
each constraint type as ``ifverify/pass_rate/<constraint id>`` and the failure count as
``ifverify/<__name__>/failures``.  It never raises into the trainer (TRL catches nothing).

Datasets keep the ``constraints`` column as a JSON string: the specs' ``params`` differ between
constraint types, which Arrow cannot store as one struct type; the Reward reads the JSON string.

Importing this module imports neither torch, trl nor datasets; the functions that need them import
them on first use and say how to install them (``pip install "ifverify[trl]"``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifverify.rewards.reward import Reward, SampleResult, SoftScorer

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

log = logging.getLogger("ifverify.backends.trl")

INSTALL_HINT = 'the TRL backend needs trl and datasets: pip install "ifverify[trl]" (trl==1.16.0)'
PASS_RATE_PREFIX = "ifverify/pass_rate/"


def _require(module: str) -> Any:
    """Import ``module`` (trl or datasets) or fail with the install command."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({module} is not importable: {exc})") from exc


# -- reward functions ----------------------------------------------------------------------------------
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
                      asynchronous: bool = False) -> list[Callable[..., Any]]:
    """The ``reward_funcs`` list for ``trl.GRPOTrainer``: one :class:`TRLReward` (or :class:`AsyncTRLReward`).

    The arguments are :class:`Reward`'s (a bad aggregation, weights or classifier fails here, before
    training); ``name`` is the metric key, logged by TRL as ``rewards/<name>/mean``.
    """
    reward = Reward(aggregation=aggregation, mode=mode, weights=weights, on_error=on_error, classifier=classifier,
                    threshold=threshold, name=name)
    cls = AsyncTRLReward if asynchronous else TRLReward
    return [cls(reward, per_constraint_metrics=per_constraint_metrics)]


# -- datasets ------------------------------------------------------------------------------------------
def _read_rows(rows: Iterable[Mapping[str, Any]] | str | Path) -> list[Mapping[str, Any]]:
    if isinstance(rows, str | Path):
        with open(rows, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    return list(rows)


def _record(row: Mapping[str, Any], conversational: bool) -> dict[str, Any]:
    if "prompt" not in row or "constraints" not in row:
        raise ValueError(f"a curriculum row needs 'prompt' and 'constraints', got keys {sorted(row)}")
    record: dict[str, Any] = {}
    for key, value in row.items():
        if key == "prompt":
            record[key] = [{"role": "user", "content": str(value)}] if conversational else str(value)
        elif isinstance(value, dict | list | tuple):
            record[key] = json.dumps(value, ensure_ascii=False)  # constraints, and other nested fields
        else:
            record[key] = value
    return record


def rows_to_dataset(rows: Iterable[Mapping[str, Any]] | str | Path, *, conversational: bool = False) -> Dataset:
    """A ``datasets.Dataset`` of curriculum rows (a list, or a JSONL path).

    ``prompt`` is the text (or, with ``conversational``, one user message, so TRL applies the chat
    template); ``constraints`` and any other nested field become JSON strings; other fields are kept.
    """
    datasets = _require("datasets")
    records = [_record(row, conversational) for row in _read_rows(rows)]
    if not records:
        raise ValueError("no curriculum rows")
    return datasets.Dataset.from_list(records)


def curriculum_datasets(rows: Iterable[Mapping[str, Any]] | str | Path, *, levels: Iterable[int] | None = None,
                        conversational: bool = False) -> dict[int, Dataset]:
    """One dataset per curriculum level, in level order (rows keep their order within a level).

    ``levels`` keeps only those levels; a row without ``level`` counts as level 0.
    """
    wanted = None if levels is None else set(levels)
    by_level: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for row in _read_rows(rows):
        level = int(row.get("level", 0))
        if wanted is None or level in wanted:
            by_level[level].append(row)
    if wanted is not None and (missing := wanted - set(by_level)):
        raise ValueError(f"no rows for level(s) {sorted(missing)}")
    return {level: rows_to_dataset(by_level[level], conversational=conversational) for level in sorted(by_level)}


def ordered_dataset(stages: Sequence[Dataset] | Mapping[Any, Dataset]) -> Dataset:
    """The stages concatenated, for a single ``train()`` that walks the levels in order.

    The order survives only with ``GRPOConfig(shuffle_dataset=False)``; otherwise TRL shuffles the rows
    and the levels mix.  The columns must agree between stages.
    """
    datasets = _require("datasets")
    parts = list(stages.values()) if isinstance(stages, Mapping) else list(stages)
    if not parts:
        raise ValueError("no stages")
    return datasets.concatenate_datasets(parts)


# -- curriculum training -------------------------------------------------------------------------------
def train_curriculum(trainer: Any, stages: Sequence[Dataset] | Mapping[Any, Dataset], *,
                     max_steps: int | Sequence[int] | None = None, reset_scheduler: bool = False,
                     on_stage_end: Callable[[int, dict[str, Any]], Any] | None = None) -> list[dict[str, Any]]:
    """Train ``trainer`` (a ``trl.GRPOTrainer``) on each stage in turn, with one optimizer throughout.

    Each stage sets ``trainer.train_dataset`` and calls ``trainer.train()``; the optimizer (and its
    state) is kept.  ``max_steps`` (one for all, or one per stage) overrides ``args.max_steps``.
    The learning-rate schedule restarts per stage: transformers rebuilds, on every ``train()``, a
    scheduler it created itself; one passed in ``optimizers=(optimizer, scheduler)`` is kept and
    continues across stages unless ``reset_scheduler`` drops it (a default one is then built).
    The completions TRL buffers between generations are dropped, so no stage trains on another's rows.

    Returns one dict per stage: ``stage`` (its index, or key for a mapping), ``rows``, ``global_step``,
    ``training_loss``, ``metrics`` (``train()``'s) and ``log_history`` (the stage's; the Trainer starts a
    new one on every ``train()``).
    """
    keys, parts = ((list(stages.keys()), list(stages.values())) if isinstance(stages, Mapping)
                   else (list(range(len(stages))), list(stages)))
    if not parts:
        raise ValueError("no stages")
    if isinstance(max_steps, Sequence):
        if len(max_steps) != len(parts):
            raise ValueError(f"max_steps has {len(max_steps)} entries for {len(parts)} stages")
        steps: list[int | None] = list(max_steps)
    else:
        steps = [max_steps] * len(parts)
    info = []
    for key, dataset, stage_steps in zip(keys, parts, steps, strict=True):
        trainer.train_dataset = dataset
        if stage_steps is not None:
            trainer.args.max_steps = int(stage_steps)
        if reset_scheduler:
            trainer.lr_scheduler = None
        if hasattr(trainer, "_buffered_inputs"):
            trainer._buffered_inputs = None  # regenerate from this stage's rows
        output = trainer.train()
        stage = {"stage": key, "rows": len(dataset), "global_step": trainer.state.global_step,
                 "training_loss": getattr(output, "training_loss", None),
                 "metrics": dict(getattr(output, "metrics", {}) or {}),
                 "log_history": list(trainer.state.log_history)}
        info.append(stage)
        if on_stage_end is not None:
            on_stage_end(len(info) - 1, stage)
    return info


def _safe_log(log_metric: Callable[[str, float], Any], name: str, value: float) -> None:
    try:
        log_metric(name, value)
    except Exception as exc:  # logging must never break training
        log.debug("log_metric(%r) failed: %s", name, exc)
