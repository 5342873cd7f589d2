"""The summary of a trl run: one row per logged step and a trend per level, from the Trainer's ``log_history``.

:func:`train_summary` builds it, :func:`write_summary` writes ``<output_dir>/train_summary.json`` and
:func:`render_summary` prints it (``ifverify train`` does all three).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ifverify.backends.trl.rewards import PASS_RATE_PREFIX

SUMMARY_FILE = "train_summary.json"


def _number(value: Any) -> float | None:
    """A finite float, or None (NaN, infinities and non-numbers: JSON has no NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def step_row(entry: Mapping[str, Any], *, stage: int, level: int | None, offset: int) -> dict[str, Any]:
    """One summary row from a Trainer ``log_history`` entry that carries rewards.

    ``reward`` and ``reward_std`` are TRL's (the sum over reward functions); ``rewards`` maps each reward
    function's ``__name__`` to its ``rewards/<name>/mean``; ``pass_rates`` maps constraint ids to the
    ``ifverify/pass_rate/<id>`` values; ``global_step`` is ``offset`` (the steps of earlier stages) + ``step``.
    """
    step = int(entry.get("step", 0))
    rewards = {key[len("rewards/"):-len("/mean")]: _number(value) for key, value in entry.items()
               if key.startswith("rewards/") and key.endswith("/mean")}
    rates = {key[len(PASS_RATE_PREFIX):]: _number(value) for key, value in entry.items()
             if key.startswith(PASS_RATE_PREFIX)}
    return {"stage": stage, "level": level, "step": step, "global_step": offset + step,
            "reward": _number(entry.get("reward")), "reward_std": _number(entry.get("reward_std")),
            "rewards": rewards, "pass_rates": dict(sorted(rates.items())),
            "completion_length": _number(entry.get("completions/mean_length"))}


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def level_trend(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per stage (in order): its level, step count, first/last/mean reward and mean pass rate per constraint id."""
    trend: list[dict[str, Any]] = []
    for stage in dict.fromkeys(row["stage"] for row in rows):
        mine = [row for row in rows if row["stage"] == stage]
        rewards = [row["reward"] for row in mine]
        ids = sorted({cid for row in mine for cid in row["pass_rates"]})
        trend.append({"stage": stage, "level": mine[0]["level"], "steps": len(mine),
                      "reward_first": rewards[0], "reward_last": rewards[-1], "reward_mean": _mean(rewards),
                      "pass_rates": {cid: _mean([row["pass_rates"].get(cid) for row in mine]) for cid in ids}})
    return trend


def train_summary(histories: Sequence[Sequence[Mapping[str, Any]]], levels: Sequence[int | None], *,
                  wall_seconds: float, **info: Any) -> dict[str, Any]:
    """The run's summary from one ``log_history`` per stage (``levels``: each stage's level, or None).

    Keys: ``info``'s, ``wall_seconds``, ``steps`` (one :func:`step_row` per logged step that carries a reward,
    stages numbered from 1, ``global_step`` counting on across stages) and ``levels`` (:func:`level_trend`).
    """
    rows: list[dict[str, Any]] = []
    offset = 0
    for stage, (history, level) in enumerate(zip(histories, levels, strict=True), start=1):
        logged = [entry for entry in history if "reward" in entry or any(k.startswith("rewards/") for k in entry)]
        rows += [step_row(entry, stage=stage, level=level, offset=offset) for entry in logged]
        offset += max((int(entry.get("step", 0)) for entry in history), default=0)
    return {**info, "wall_seconds": round(wall_seconds, 2), "total_steps": offset, "steps": rows,
            "levels": level_trend(rows)}


def write_summary(summary: Mapping[str, Any], output_dir: str | Path) -> Path:
    """Write ``summary`` as ``<output_dir>/train_summary.json`` (the folder is created) and return the path."""
    path = Path(output_dir) / SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path


def _cell(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _resumed_text(stage: Mapping[str, Any]) -> str:
    name = f"stage {stage['stage']}" + ("" if stage.get("level") is None else f" (L{stage['level']})")
    how = stage.get("resumed")
    if how == "skipped":
        return f"{name} skipped, finished earlier"
    if how == "checkpoint":
        return f"{name} continued from {Path(stage['resumed_from']).name}"
    if how == "previous_stage":
        source = Path(stage["resumed_from"])
        return f"{name} started from {source.parent.name}/{source.name}"
    return f"{name} trained from its start"


def render_summary(summary: Mapping[str, Any]) -> str:
    """The summary as text: one line per logged step, then one per stage (level) with the reward trend."""
    setup = summary.get("setup_seconds")
    setup_text = f" (setup {setup:.1f} s: data, policy, classifier, trainer)" if setup is not None else ""
    lines = [f"trained {summary['total_steps']} steps in {len(summary['levels'])} stage(s); "
             f"wall time {summary['wall_seconds']:.1f} s{setup_text}",
             "stage level  step global  reward    std  length  pass rates"]
    for row in summary["steps"]:
        rates = ", ".join(f"{cid} {_cell(rate, 2)}" for cid, rate in row["pass_rates"].items())
        level = "-" if row["level"] is None else f"L{row['level']}"
        lines.append(f"{row['stage']:>5} {level:>5} {row['step']:>5} {row['global_step']:>6} "
                     f"{_cell(row['reward']):>7} {_cell(row['reward_std']):>6} "
                     f"{_cell(row['completion_length'], 1):>7}  {rates}")
    if summary.get("resume"):
        lines.append("resumed: " + "; ".join(_resumed_text(s) for s in summary.get("stage_runs", [])))
    lines.append("reward per stage (first step -> last step, mean):")
    for stage in summary["levels"]:
        level = "ordered pass" if stage["level"] is None else f"L{stage['level']}"
        lines.append(f"  stage {stage['stage']} ({level}): {_cell(stage['reward_first'])} -> "
                     f"{_cell(stage['reward_last'])}, mean {_cell(stage['reward_mean'])} over {stage['steps']} steps")
    return "\n".join(lines)
