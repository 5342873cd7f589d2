"""TRL (``trl==1.16.0``) backend: ifverify rewards as ``GRPOTrainer`` reward functions, and curriculum runs.

Reward functions::

    from trl import GRPOConfig, GRPOTrainer
    from ifverify.backends.trl import curriculum_datasets, make_reward_funcs, train_curriculum

    levels = curriculum_datasets("curriculum.jsonl")             # {1: Dataset, 2: Dataset, ...}
    trainer = GRPOTrainer(model=..., reward_funcs=make_reward_funcs(), args=GRPOConfig(...),
                          train_dataset=levels[1])
    stages = train_curriculum(trainer, levels)                   # L1, then L2, ... one optimizer
    stages = train_curriculum(trainer, levels, resume=True)      # after an interruption, with a new trainer

Checkpoints: :func:`train_curriculum` saves each stage's under ``<output_dir>/stage-<i>-<key>`` and marks a
finished stage with ``stage.json``; ``resume=True`` skips the finished stages and continues the first unfinished
one from its latest checkpoint, or from the previous stage's last one (weights, optimizer state, random states).
:func:`train_ordered` is the single-``train()`` variant, with checkpoints in ``<output_dir>``.

TRL calls each reward function with keywords only (``prompts``, ``completions``, ``completion_ids``,
every other dataset column as a per-row list, ``trainer_state``, ``log_metric``, ``log_extra``) and
logs its mean as ``rewards/<__name__>/mean``.  :class:`TRLReward` adds, per batch, the pass rate of
each constraint type as ``ifverify/pass_rate/<constraint id>`` and the failure count as
``ifverify/<__name__>/failures``.  It never raises into the trainer (TRL catches nothing).

Datasets keep the ``constraints`` column as a JSON string: the specs' ``params`` differ between
constraint types, which Arrow cannot store as one struct type; the Reward reads the JSON string.

Importing this module imports neither torch, trl nor datasets; the functions that need them import
them on first use and say how to install them (``pip install -e ".[soft,trl]"``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifverify.rewards.reward import PYTHON_HINT, Reward, SampleResult, SoftScorer

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

log = logging.getLogger("ifverify.backends.trl")

INSTALL_HINT = ('the TRL backend needs trl and datasets: in the main environment, pip install -e ".[soft,trl]" '
                "(trl==1.16.0)")
PASS_RATE_PREFIX = "ifverify/pass_rate/"
# The file names transformers' Trainer uses inside a checkpoint folder.
TRAINER_STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
SCHEDULER_FILE = "scheduler.pt"


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
#: The marker a finished stage leaves in its folder (see :func:`train_curriculum`).
STAGE_MARKER = "stage.json"
#: The stage list a swap run records in ``output_dir`` when it starts, checked by a resume.
RUN_MARKER = "curriculum_stages.json"
_CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)$")
_STAGE_DIR = re.compile(r"^stage-(\d+)(?:-.+)?$")
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._=+-]+")


def stage_folder_name(index: int, key: Any = None) -> str:
    """The folder of stage ``index`` (from 1) under ``output_dir``: ``stage-<index>-<key>`` for a keyed stage (a
    mapping's key, e.g. the level), ``stage-<index>`` for a stage of a list.  Characters other than letters, digits
    and ``._=+-`` in the key become ``_``."""
    if key is None:
        return f"stage-{index}"
    return f"stage-{index}-{_UNSAFE_KEY_CHARS.sub('_', str(key)) or '_'}"


def _checkpoint_step(folder: Path) -> int:
    match = _CHECKPOINT_DIR.match(folder.name)
    return int(match.group(1)) if match else 0


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The ``checkpoint-<step>`` folder in ``folder`` with the highest step that holds ``trainer_state.json``.

    The Trainer writes ``trainer_state.json`` last, so a checkpoint without it was cut off while saving; it is
    skipped with a warning.  ``None`` when ``folder`` holds no complete checkpoint (or does not exist).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = sorted((p for p in folder.iterdir() if p.is_dir() and _CHECKPOINT_DIR.match(p.name)),
                   key=_checkpoint_step, reverse=True)
    for checkpoint in found:
        if (checkpoint / TRAINER_STATE_FILE).is_file():
            return checkpoint
        log.warning("%s: no %s, an incomplete save; it is skipped", checkpoint, TRAINER_STATE_FILE)
    return None


def _earlier_checkpoints(root: Path) -> list[Path]:
    """Every ``checkpoint-*`` folder in ``root`` and in its ``stage-*`` folders."""
    if not root.is_dir():
        return []
    found = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and _CHECKPOINT_DIR.match(child.name):
            found.append(child)
        elif child.is_dir() and _STAGE_DIR.match(child.name):
            found += sorted(p for p in child.iterdir() if p.is_dir() and _CHECKPOINT_DIR.match(p.name))
    return found


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``: readers see the old file or
    the whole new one, never a part (the folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _key_json(key: Any) -> Any:
    return key if isinstance(key, int | str) and not isinstance(key, bool) else str(key)


@dataclass
class StageState:
    """What ``output_dir`` holds for one curriculum stage: its folder, its ``stage.json`` (``marker``, set once the
    stage finished) and its latest complete checkpoint (see :func:`inspect_stages`)."""

    index: int
    key: Any
    folder: Path
    marker: dict[str, Any] | None = None
    checkpoint: Path | None = None

    @property
    def finished(self) -> bool:
        """The stage finished (its ``stage.json`` exists)."""
        return self.marker is not None

    @property
    def started(self) -> bool:
        """The stage finished or saved a checkpoint."""
        return self.marker is not None or self.checkpoint is not None


def _stage_states(root: Path, keys: Sequence[Any], keyed: bool) -> list[StageState]:
    return [StageState(i, key, root / stage_folder_name(i, key if keyed else None)) for i, key in enumerate(keys, 1)]


def inspect_stages(output_dir: str | Path, keys: Sequence[Any], *, keyed: bool = True) -> list[StageState]:
    """The resume state of a swap run with stages ``keys`` in ``output_dir`` (nothing is imported or written).

    ``keyed``: the stages are a mapping's (folders ``stage-<i>-<key>``), else a list's (``stage-<i>``).  Raises a
    :class:`ValueError` naming the file or folder when ``output_dir`` does not belong to a run with these stages:
    its ``curriculum_stages.json`` lists other stage folders, it holds a stage folder with a checkpoint or marker
    that this run lacks, a ``stage.json`` records another stage or stage count, ``output_dir`` itself holds
    checkpoints (a single ``train()``, as in ordered mode), or a stage started while an earlier one is unfinished.
    """
    root = Path(output_dir)
    states = _stage_states(root, keys, keyed)
    expected = [state.folder.name for state in states]
    run_marker = root / RUN_MARKER
    if run_marker.is_file():
        recorded = [str(entry.get("folder")) for entry in _read_json(run_marker).get("stages", [])]
        if recorded != expected:
            raise ValueError(f"{run_marker}: the run in this folder has the stages {recorded}, this resume has "
                             f"{expected}; resume with the same stages in the same order, or use another output_dir")
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if not child.is_dir():
                continue
            if _CHECKPOINT_DIR.match(child.name):
                raise ValueError(f"{child}: a checkpoint of a single train() (an ordered run?) in the output_dir of "
                                 "a swap run, which keeps each stage's checkpoints in its stage-* folder; resume "
                                 "it in ordered mode, or use another output_dir")
            if (_STAGE_DIR.match(child.name) and child.name not in expected
                    and ((child / STAGE_MARKER).is_file() or latest_checkpoint(child) is not None)):
                raise ValueError(f"{child}: a stage folder that this run does not have (its stages: "
                                 f"{', '.join(expected)}); resume with the stages of the interrupted run, "
                                 "or move the folder away")
    for state in states:
        state.checkpoint = latest_checkpoint(state.folder)
        path = state.folder / STAGE_MARKER
        if not path.is_file():
            continue
        marker = _read_json(path)
        if (marker.get("stage") != state.index or str(marker.get("key")) != str(_key_json(state.key))
                or marker.get("stages") != len(states)):
            raise ValueError(f"{path}: records stage {marker.get('stage')} of {marker.get('stages')} (key "
                             f"{marker.get('key')!r}), but this run's stage {state.index} of {len(states)} has key "
                             f"{_key_json(state.key)!r}; resume with the stages of the interrupted run")
        state.marker = marker
    first_open = next((i for i, state in enumerate(states) if not state.finished), len(states))
    for later in states[first_open + 1:]:
        if later.started:
            what = STAGE_MARKER if later.finished else later.checkpoint.name  # type: ignore[union-attr]
            raise ValueError(f"{later.folder}: holds {what} although the earlier stage "
                             f"{states[first_open].folder.name} did not finish; remove {later.folder} to resume")
    return states


def _clear_for_fresh_run(root: Path, *, remove: bool = True) -> None:
    """Refuse a fresh run into an ``output_dir`` holding checkpoints (a later resume would mix them up with this
    run's), and (with ``remove``: the main process) remove the markers an earlier run without checkpoints left."""
    found = _earlier_checkpoints(root)
    if found:
        raise ValueError(f"{found[0]}: a checkpoint of an earlier run in {root}; continue that run with resume=True "
                         "(ifverify train --resume), or remove its checkpoints or use another output_dir to start "
                         "afresh")
    stale = [root / RUN_MARKER] + ([p / STAGE_MARKER for p in root.iterdir() if _STAGE_DIR.match(p.name)]
                                   if root.is_dir() and remove else [])
    for path in stale if remove else []:
        if path.is_file():
            log.info("removing %s, left by an earlier run without checkpoints", path)
            path.unlink()


def describe_resume(output_dir: str | Path, keys: Sequence[Any], *, mode: str = "swap",
                    resume: bool = False) -> str:
    """One line on what a run into ``output_dir`` will do with what is there (for ``ifverify train --dry-run``).

    ``mode`` is ``swap`` (stages ``keys``, keyed folders) or ``ordered``.  Only the folder is read.
    """
    try:
        return _describe_resume(Path(output_dir), keys, mode, resume)
    except OSError as exc:
        return f"resume: cannot look into {output_dir} ({exc})"


def _describe_resume(root: Path, keys: Sequence[Any], mode: str, resume: bool) -> str:
    if not resume:
        found = _earlier_checkpoints(root)
        if found:
            return (f"resume: no, and the run will stop: {found[0]} is a checkpoint of an earlier run "
                    "(add --resume to continue it, or remove it)")
        return "resume: no (a fresh run; --resume or trainer.resume: true continues an interrupted one)"
    if mode == "ordered":
        stage_dirs = [p for p in _earlier_checkpoints(root) if p.parent != root]
        if stage_dirs:
            return f"resume: will fail: {stage_dirs[0]} is a checkpoint of a swap run"
        checkpoint = latest_checkpoint(root)
        if checkpoint is None:
            return f"resume: nothing to resume in {root}: starts from scratch"
        return f"resume: continue from {checkpoint} (weights, optimizer, scheduler, RNG, step)"
    try:
        states = inspect_stages(root, keys)
    except ValueError as exc:
        return f"resume: will fail: {exc}"
    if not any(state.started for state in states):
        return f"resume: nothing to resume in {root}: starts from scratch"
    parts = []
    for i, state in enumerate(states):
        if state.finished:
            marker = state.marker or {}
            parts.append(f"skip {state.folder.name} (finished at step {marker.get('global_step')}, "
                         f"{marker.get('checkpoint') or 'no checkpoint'})")
        elif state.checkpoint is not None:
            parts.append(f"continue {state.folder.name} from its {state.checkpoint.name}")
        elif i > 0 and states[i - 1].finished:
            previous = states[i - 1]
            checkpoint = (previous.marker or {}).get("checkpoint")
            parts.append(f"start {state.folder.name} from {previous.folder.name}/{checkpoint} (weights and optimizer)"
                         if checkpoint else f"cannot start {state.folder.name}: {previous.folder.name} saved no "
                         "checkpoint")
        else:
            parts.append(f"train {state.folder.name}")
    return "resume: " + "; ".join(parts)


def _output_dir(trainer: Any) -> Path:
    folder = getattr(trainer.args, "output_dir", None)
    if not folder:
        raise ValueError("trainer.args.output_dir is not set: curriculum checkpoints need a folder")
    return Path(folder)


def _saves(args: Any) -> bool:
    strategy = getattr(args, "save_strategy", "no")
    return str(getattr(strategy, "value", strategy)) != "no"


def _stage_end_saver() -> Any:
    """A callback that makes the Trainer save a checkpoint at a stage's last step (unless ``save_strategy`` is
    ``no``), whatever the save strategy: the next stage, or a resume, starts from it."""
    from transformers import TrainerCallback

    class SaveAtStageEnd(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if state.max_steps and state.global_step >= state.max_steps and _saves(args):
                control.should_save = True
            return control

    return SaveAtStageEnd()


def _align_generation(trainer: Any, checkpoint: Path | None) -> None:
    """Drop TRL's buffered completions and set its micro-step counter to the start of the stage, or to the
    checkpoint's step, so a stage regenerates from its own rows at the step an uninterrupted run would."""
    if hasattr(trainer, "_buffered_inputs"):
        trainer._buffered_inputs = None
    if hasattr(trainer, "_step"):
        done = 0 if checkpoint is None else _checkpoint_step(checkpoint)
        trainer._step = done * int(getattr(trainer.args, "gradient_accumulation_steps", 1) or 1)


def _load_weights(model: Any, checkpoint: Path) -> None:
    """Load the model weights saved in ``checkpoint`` into ``model`` in place (tied weights allowed)."""
    single = checkpoint / "model.safetensors"
    if single.is_file():
        from safetensors.torch import load_model

        try:
            load_model(model, str(single), strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{single}: the weights do not fit the trainer's model ({exc})") from None
        return
    if any((checkpoint / name).is_file() for name in ("model.safetensors.index.json", "pytorch_model.bin.index.json")):
        from transformers.trainer_utils import load_sharded_checkpoint

        load_sharded_checkpoint(model, str(checkpoint), strict=True)
        return
    raise ValueError(f"{checkpoint}: no model.safetensors or sharded weights index to start the next stage from "
                     "(PEFT adapter checkpoints are not supported here)")


def _restore_rng(trainer: Any, checkpoint: Path) -> None:
    """Set the Python, NumPy and torch random states to those saved in ``checkpoint`` (if it holds them)."""
    world = int(getattr(trainer.args, "world_size", 1) or 1)
    path = checkpoint / ("rng_state.pth" if world <= 1 else f"rng_state_{trainer.args.process_index}.pth")
    if not path.is_file():
        log.info("%s: no random states saved; the next stage samples from the current ones", checkpoint)
        return
    import random

    import numpy as np
    import torch
    from transformers.trainer_pt_utils import safe_globals

    with safe_globals():
        states = torch.load(path, weights_only=True)
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.random.set_rng_state(states["cpu"])
    cuda = states.get("cuda")
    if cuda is not None and torch.cuda.is_available():
        if isinstance(cuda, list | tuple):
            torch.cuda.random.set_rng_state_all(cuda)
        else:
            torch.cuda.random.set_rng_state(cuda)


def _start_from_checkpoint(trainer: Any, checkpoint: Path, *, reset_scheduler: bool) -> None:
    """Put ``trainer`` where it was when ``checkpoint`` was saved at the end of a stage: the model weights, the
    optimizer state (into the optimizer ``create_optimizer()`` returns), a scheduler passed to the trainer (unless
    ``reset_scheduler``) and the random states.  The next ``train()`` keeps that optimizer, as in one process."""
    torch = _require("torch")
    _load_weights(trainer.model, checkpoint)
    optimizer_file = checkpoint / OPTIMIZER_FILE
    if not optimizer_file.is_file():
        raise ValueError(f"{checkpoint}: no {OPTIMIZER_FILE} (saved with save_only_model?), so the optimizer state "
                         "cannot carry over to the next stage")
    optimizer = trainer.create_optimizer()
    optimizer.load_state_dict(torch.load(optimizer_file, map_location="cpu", weights_only=True))
    scheduler_file = checkpoint / SCHEDULER_FILE
    if getattr(trainer, "lr_scheduler", None) is not None and not reset_scheduler and scheduler_file.is_file():
        trainer.lr_scheduler.load_state_dict(torch.load(scheduler_file, weights_only=True))
    _restore_rng(trainer, checkpoint)


def _end_checkpoint(state: StageState) -> Path:
    """The checkpoint a finished stage saved at its last step; a :class:`ValueError` naming the folder if none."""
    marker = state.marker or {}
    name = marker.get("checkpoint")
    if not name:
        raise ValueError(f"{state.folder}: stage {state.index} ({state.key}) finished without a checkpoint "
                         "(save_strategy 'no'?), so its weights and optimizer state are lost and the run cannot go "
                         "on from it; remove the stage folders and train again with checkpoints")
    checkpoint = state.folder / str(name)
    if not (checkpoint / TRAINER_STATE_FILE).is_file():
        raise ValueError(f"{checkpoint}: recorded in {state.folder / STAGE_MARKER} as the stage's last checkpoint, "
                         f"but missing or incomplete")
    if _checkpoint_step(checkpoint) != marker.get("global_step"):
        raise ValueError(f"{checkpoint}: stage {state.index} finished at step {marker.get('global_step')}, later "
                         "than its last checkpoint, so the weights it ended with were not saved")
    return checkpoint


def _history(checkpoint: Path | None) -> list[dict[str, Any]]:
    """The ``log_history`` stored in ``checkpoint``'s ``trainer_state.json`` (empty without one)."""
    if checkpoint is None or not (checkpoint / TRAINER_STATE_FILE).is_file():
        return []
    return list(_read_json(checkpoint / TRAINER_STATE_FILE).get("log_history", []))


def _train_result(trainer: Any, output: Any) -> dict[str, Any]:
    return {"global_step": trainer.state.global_step, "training_loss": getattr(output, "training_loss", None),
            "metrics": dict(getattr(output, "metrics", {}) or {}), "log_history": list(trainer.state.log_history)}


def _skipped_stage(state: StageState, rows: int) -> dict[str, Any]:
    """The result entry of a stage that finished in an earlier run, from its ``stage.json`` and last checkpoint."""
    marker = state.marker or {}
    if marker.get("rows") != rows:
        log.warning("%s: the stage had %s rows, now %s; it is skipped all the same", state.folder,
                    marker.get("rows"), rows)
    checkpoint = state.folder / str(marker["checkpoint"]) if marker.get("checkpoint") else None
    return {"stage": state.key, "index": state.index, "rows": marker.get("rows"),
            "global_step": marker.get("global_step"), "training_loss": marker.get("training_loss"),
            "metrics": dict(marker.get("metrics") or {}), "log_history": _history(checkpoint),
            "folder": str(state.folder), "checkpoint": None if checkpoint is None else str(checkpoint),
            "resumed": "skipped", "resumed_from": None, "finished": marker.get("finished")}


def _steps_per_stage(max_steps: int | Sequence[int] | None, count: int) -> list[int | None]:
    if isinstance(max_steps, Sequence):
        if len(max_steps) != count:
            raise ValueError(f"max_steps has {len(max_steps)} entries for {count} stages")
        return list(max_steps)
    return [max_steps] * count


def train_curriculum(trainer: Any, stages: Sequence[Dataset] | Mapping[Any, Dataset], *,
                     max_steps: int | Sequence[int] | None = None, reset_scheduler: bool = False,
                     on_stage_end: Callable[[int, dict[str, Any]], Any] | None = None,
                     resume: bool = False) -> list[dict[str, Any]]:
    """Train ``trainer`` (a ``trl.GRPOTrainer``) on each stage in turn, with one optimizer throughout.

    Each stage sets ``trainer.train_dataset`` and calls ``trainer.train()``; the optimizer (and its
    state) is kept.  ``max_steps`` (one for all, or one per stage) overrides ``args.max_steps``.
    The learning-rate schedule restarts per stage: transformers rebuilds, on every ``train()``, a
    scheduler it created itself; one passed in ``optimizers=(optimizer, scheduler)`` is kept and
    continues across stages unless ``reset_scheduler`` drops it (a default one is then built).
    The completions TRL buffers between generations are dropped, so no stage trains on another's rows.

    Checkpoints: stage ``i`` (from 1) saves under ``<output_dir>/stage-<i>-<key>`` (``stage-<i>`` for a list of
    stages), so the stages' ``checkpoint-<step>`` folders, whose steps restart each stage, never replace each
    other; every stage also saves one at its last step (unless ``save_strategy`` is ``no``).  A finished stage
    writes ``stage.json`` into its folder (its index, key, rows, global step, last checkpoint, loss, metrics, time).
    ``args.output_dir`` is restored at the end.  A fresh run (``resume=False``) refuses an ``output_dir`` that
    holds checkpoints, and records its stages in ``<output_dir>/curriculum_stages.json``.

    ``resume=True`` continues an interrupted run with the same stages (a mismatch raises a :class:`ValueError`
    naming the file or folder, see :func:`inspect_stages`): stages with a ``stage.json`` are skipped; the first
    unfinished stage resumes from its latest checkpoint through ``trainer.train(resume_from_checkpoint=...)``
    (weights, optimizer, scheduler, random states and step), or, without one, starts from its beginning with the
    weights, optimizer state and random states of the previous stage's last checkpoint.  With nothing saved yet
    it starts from scratch.

    Returns one dict per stage: ``stage`` (its index from 0, or key for a mapping), ``index`` (from 1), ``rows``,
    ``global_step``, ``training_loss``, ``metrics`` (``train()``'s), ``log_history`` (the stage's; the Trainer
    starts a new one on every ``train()``), ``folder``, ``checkpoint`` (its last, or None) and ``resumed``: None
    (trained from its start), ``"skipped"`` (finished before; the entry comes from its ``stage.json`` and last
    checkpoint), ``"checkpoint"`` (continued from its own checkpoint) or ``"previous_stage"`` (started from the
    previous stage's last checkpoint), with the checkpoint in ``resumed_from``.  ``on_stage_end(position, entry)``
    runs after each stage trained in this call, once its ``stage.json`` is written.
    """
    keyed = isinstance(stages, Mapping)
    keys, parts = ((list(stages.keys()), list(stages.values())) if isinstance(stages, Mapping)
                   else (list(range(len(stages))), list(stages)))
    if not parts:
        raise ValueError("no stages")
    steps = _steps_per_stage(max_steps, len(parts))
    root = _output_dir(trainer)
    should_save = bool(getattr(trainer.args, "should_save", True))
    if resume:
        states = inspect_stages(root, keys, keyed=keyed)
    else:
        _clear_for_fresh_run(root, remove=should_save)
        states = _stage_states(root, keys, keyed)
    if should_save and (not resume or not (root / RUN_MARKER).is_file()):
        write_json_atomic(root / RUN_MARKER, {
            "stages": [{"stage": s.index, "key": _key_json(s.key), "folder": s.folder.name, "rows": len(part)}
                       for s, part in zip(states, parts, strict=True)],
            "started": _now()})
    first = next((i for i, state in enumerate(states) if not state.finished), len(states))
    info = [_skipped_stage(state, len(part)) for state, part in zip(states[:first], parts[:first], strict=True)]
    start_from = None
    if first > 0 and (first == len(states) or states[first].checkpoint is None):
        start_from = _end_checkpoint(states[first - 1])
        _start_from_checkpoint(trainer, start_from, reset_scheduler=reset_scheduler)
    original_dir = trainer.args.output_dir
    saver = _stage_end_saver()
    trainer.add_callback(saver)
    try:
        for state, dataset, stage_steps in zip(states[first:], parts[first:], steps[first:], strict=True):
            own = state.checkpoint if resume else None
            trainer.args.output_dir = str(state.folder)
            trainer.train_dataset = dataset
            if stage_steps is not None:
                trainer.args.max_steps = int(stage_steps)
            if reset_scheduler:
                trainer.lr_scheduler = None
            _align_generation(trainer, own)
            output = trainer.train(resume_from_checkpoint=None if own is None else str(own))
            last = latest_checkpoint(state.folder)
            came_from = own or (start_from if state is states[first] else None)
            stage = {"stage": state.key, "index": state.index, "rows": len(dataset), **_train_result(trainer, output),
                     "folder": str(state.folder), "checkpoint": None if last is None else str(last),
                     "resumed": "checkpoint" if own else ("previous_stage" if came_from else None),
                     "resumed_from": None if came_from is None else str(came_from), "finished": _now()}
            if should_save:
                write_json_atomic(state.folder / STAGE_MARKER, {
                    "stage": state.index, "key": _key_json(state.key), "stages": len(states),
                    "folder": state.folder.name, "rows": stage["rows"], "global_step": stage["global_step"],
                    "checkpoint": None if last is None else last.name, "training_loss": stage["training_loss"],
                    "metrics": stage["metrics"], "finished": stage["finished"]})
            info.append(stage)
            if on_stage_end is not None:
                on_stage_end(len(info) - 1, stage)
    finally:
        trainer.args.output_dir = original_dir
        trainer.remove_callback(saver)
    return info


def train_ordered(trainer: Any, stages: Sequence[Dataset] | Mapping[Any, Dataset], *, max_steps: int | None = None,
                  resume: bool = False) -> list[dict[str, Any]]:
    """One ``train()`` on the stages concatenated in order (:func:`ordered_dataset`; needs
    ``GRPOConfig(shuffle_dataset=False)`` to keep the order); ``max_steps`` overrides ``args.max_steps``.

    Checkpoints go to ``output_dir`` itself.  A fresh run refuses an ``output_dir`` that holds checkpoints;
    ``resume=True`` continues from the latest complete ``checkpoint-<step>`` there through
    ``trainer.train(resume_from_checkpoint=...)``, or starts from scratch when there is none.  Returns a
    one-element list shaped like :func:`train_curriculum`'s (``stage`` is ``"ordered"``).
    """
    dataset = ordered_dataset(stages)
    root = _output_dir(trainer)
    checkpoint = None
    if resume:
        swap = [p for p in _earlier_checkpoints(root) if p.parent != root]
        if swap:
            raise ValueError(f"{swap[0].parent}: a stage folder of a swap run in the output_dir of an ordered run; "
                             "resume it in swap mode, or use another output_dir")
        checkpoint = latest_checkpoint(root)
    else:
        _clear_for_fresh_run(root, remove=bool(getattr(trainer.args, "should_save", True)))
    trainer.train_dataset = dataset
    if max_steps is not None:
        trainer.args.max_steps = int(max_steps)
    _align_generation(trainer, checkpoint)
    output = trainer.train(resume_from_checkpoint=None if checkpoint is None else str(checkpoint))
    last = latest_checkpoint(root)
    return [{"stage": "ordered", "index": 1, "rows": len(dataset), **_train_result(trainer, output),
             "folder": str(root), "checkpoint": None if last is None else str(last),
             "resumed": None if checkpoint is None else "checkpoint",
             "resumed_from": None if checkpoint is None else str(checkpoint), "finished": _now()}]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _safe_log(log_metric: Callable[[str, float], Any], name: str, value: float) -> None:
    try:
        log_metric(name, value)
    except Exception as exc:  # logging must never break training
        log.debug("log_metric(%r) failed: %s", name, exc)
