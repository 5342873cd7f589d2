"""Curriculum datasets (one per level) and curriculum training: level after level on one optimizer
(:func:`train_curriculum`), or one ordered pass (:func:`train_ordered`), both resumable (:mod:`.resume`).

Datasets keep the ``constraints`` column as a JSON string: the specs' ``params`` differ between
constraint types, which Arrow cannot store as one struct type; the Reward reads the JSON string.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifverify.backends.trl._deps import require_module
from ifverify.backends.trl.resume import (
    RUN_MARKER,
    STAGE_MARKER,
    StageState,
    checkpoint_step,
    clear_for_fresh_run,
    earlier_checkpoints,
    end_checkpoint,
    inspect_stages,
    key_json,
    latest_checkpoint,
    stage_history,
    stage_states,
    start_from_checkpoint,
    write_json_atomic,
)

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

log = logging.getLogger("ifverify.backends.trl")


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
    datasets = require_module("datasets")
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
    datasets = require_module("datasets")
    parts = list(stages.values()) if isinstance(stages, Mapping) else list(stages)
    if not parts:
        raise ValueError("no stages")
    return datasets.concatenate_datasets(parts)


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
        done = 0 if checkpoint is None else checkpoint_step(checkpoint)
        trainer._step = done * int(getattr(trainer.args, "gradient_accumulation_steps", 1) or 1)


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
            "metrics": dict(marker.get("metrics") or {}), "log_history": stage_history(checkpoint),
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
        clear_for_fresh_run(root, remove=should_save)
        states = stage_states(root, keys, keyed)
    if should_save and (not resume or not (root / RUN_MARKER).is_file()):
        write_json_atomic(root / RUN_MARKER, {
            "stages": [{"stage": s.index, "key": key_json(s.key), "folder": s.folder.name, "rows": len(part)}
                       for s, part in zip(states, parts, strict=True)],
            "started": _now()})
    first = next((i for i, state in enumerate(states) if not state.finished), len(states))
    info = [_skipped_stage(state, len(part)) for state, part in zip(states[:first], parts[:first], strict=True)]
    start_from = None
    if first > 0 and (first == len(states) or states[first].checkpoint is None):
        start_from = end_checkpoint(states[first - 1])
        start_from_checkpoint(trainer, start_from, reset_scheduler=reset_scheduler)
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
                    "stage": state.index, "key": key_json(state.key), "stages": len(states),
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
        swap = [p for p in earlier_checkpoints(root) if p.parent != root]
        if swap:
            raise ValueError(f"{swap[0].parent}: a stage folder of a swap run in the output_dir of an ordered run; "
                             "resume it in swap mode, or use another output_dir")
        checkpoint = latest_checkpoint(root)
    else:
        clear_for_fresh_run(root, remove=bool(getattr(trainer.args, "should_save", True)))
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
