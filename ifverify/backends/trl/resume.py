"""Curriculum checkpoints: where each stage saves, what ``output_dir`` holds, and how a run resumes from it.

A swap run (:func:`~ifverify.backends.trl.curriculum.train_curriculum`) saves stage ``i`` under
``<output_dir>/stage-<i>-<key>``, records its stages in ``curriculum_stages.json`` and marks a finished stage with
``stage.json``; :func:`inspect_stages` reads that back for a resume, :func:`describe_resume` says in one line
what a run will do, and :func:`start_from_checkpoint` puts a trainer where a stage's last checkpoint left it.
Nothing here imports torch or transformers until a checkpoint is loaded.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifverify.backends.trl._deps import require_module

log = logging.getLogger("ifverify.backends.trl")

# The file names transformers' Trainer uses inside a checkpoint folder.
TRAINER_STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
SCHEDULER_FILE = "scheduler.pt"
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


def checkpoint_step(folder: Path) -> int:
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
                   key=checkpoint_step, reverse=True)
    for checkpoint in found:
        if (checkpoint / TRAINER_STATE_FILE).is_file():
            return checkpoint
        log.warning("%s: no %s, an incomplete save; it is skipped", checkpoint, TRAINER_STATE_FILE)
    return None


def earlier_checkpoints(root: Path) -> list[Path]:
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


def key_json(key: Any) -> Any:
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


def stage_states(root: Path, keys: Sequence[Any], keyed: bool) -> list[StageState]:
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
    states = stage_states(root, keys, keyed)
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
        if (marker.get("stage") != state.index or str(marker.get("key")) != str(key_json(state.key))
                or marker.get("stages") != len(states)):
            raise ValueError(f"{path}: records stage {marker.get('stage')} of {marker.get('stages')} (key "
                             f"{marker.get('key')!r}), but this run's stage {state.index} of {len(states)} has key "
                             f"{key_json(state.key)!r}; resume with the stages of the interrupted run")
        state.marker = marker
    first_open = next((i for i, state in enumerate(states) if not state.finished), len(states))
    for later in states[first_open + 1:]:
        if later.started:
            what = STAGE_MARKER if later.finished else later.checkpoint.name  # type: ignore[union-attr]
            raise ValueError(f"{later.folder}: holds {what} although the earlier stage "
                             f"{states[first_open].folder.name} did not finish; remove {later.folder} to resume")
    return states


def clear_for_fresh_run(root: Path, *, remove: bool = True) -> None:
    """Refuse a fresh run into an ``output_dir`` holding checkpoints (a later resume would mix them up with this
    run's), and (with ``remove``: the main process) remove the markers an earlier run without checkpoints left."""
    found = earlier_checkpoints(root)
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
        found = earlier_checkpoints(root)
        if found:
            return (f"resume: no, and the run will stop: {found[0]} is a checkpoint of an earlier run "
                    "(add --resume to continue it, or remove it)")
        return "resume: no (a fresh run; --resume or trainer.resume: true continues an interrupted one)"
    if mode == "ordered":
        stage_dirs = [p for p in earlier_checkpoints(root) if p.parent != root]
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


def start_from_checkpoint(trainer: Any, checkpoint: Path, *, reset_scheduler: bool) -> None:
    """Put ``trainer`` where it was when ``checkpoint`` was saved at the end of a stage: the model weights, the
    optimizer state (into the optimizer ``create_optimizer()`` returns), a scheduler passed to the trainer (unless
    ``reset_scheduler``) and the random states.  The next ``train()`` keeps that optimizer, as in one process."""
    torch = require_module("torch")
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


def end_checkpoint(state: StageState) -> Path:
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
    if checkpoint_step(checkpoint) != marker.get("global_step"):
        raise ValueError(f"{checkpoint}: stage {state.index} finished at step {marker.get('global_step')}, later "
                         "than its last checkpoint, so the weights it ended with were not saved")
    return checkpoint


def stage_history(checkpoint: Path | None) -> list[dict[str, Any]]:
    """The ``log_history`` stored in ``checkpoint``'s ``trainer_state.json`` (empty without one)."""
    if checkpoint is None or not (checkpoint / TRAINER_STATE_FILE).is_file():
        return []
    return list(_read_json(checkpoint / TRAINER_STATE_FILE).get("log_history", []))
