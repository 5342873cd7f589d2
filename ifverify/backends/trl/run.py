"""What ``ifverify train`` does with a trl config: the GRPOConfig and Reward arguments, the plan's steps, and the run.

:func:`plan_trl` fills a :class:`~ifverify.backends.dispatch.Plan` without importing anything heavy;
:func:`run_trl` loads the data and the policy (:func:`ifverify.models.load_policy`), trains level after level
(``swap``) or in one ordered pass, and writes the summary (:mod:`.summary`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifverify.backends.install import require_backend
from ifverify.backends.trl.resume import describe_resume, stage_folder_name
from ifverify.backends.trl.summary import SUMMARY_FILE, train_summary, write_summary

if TYPE_CHECKING:
    from ifverify.backends.config import Config
    from ifverify.backends.dispatch import Plan

#: How a training config sets a classifier, named in the reason of an unscored soft constraint.
CONFIG_HINT = "set reward.classifier in the config: default, a classifier folder or judge:<url>"


def reward_kwargs(config: Config) -> dict[str, Any]:
    """The keyword arguments for ``make_reward_funcs`` / ``Reward`` from the ``reward`` section."""
    r = config.reward
    kwargs: dict[str, Any] = {"aggregation": r["aggregation"], "mode": r["mode"], "weights": dict(r["weights"]),
                              "classifier": r["classifier"], "on_error": r["on_error"]}
    if r.get("threshold") is not None:
        kwargs["threshold"] = r["threshold"]
    return kwargs


_TRAINER_MAPPED = ("output_dir", "learning_rate", "kl_coef", "num_generations", "per_device_train_batch_size",
                   "gradient_accumulation_steps", "seed", "logging_steps", "save_steps", "resume")


def grpo_kwargs(config: Config) -> dict[str, Any]:
    """The ``trl.GRPOConfig`` keyword arguments (see the module docstring for the precedence)."""
    t, g, c = config.trainer, config.generation, config.curriculum
    kwargs: dict[str, Any] = {
        "output_dir": t["output_dir"], "learning_rate": t["learning_rate"], "beta": t["kl_coef"],
        "num_generations": t["num_generations"], "per_device_train_batch_size": t["per_device_train_batch_size"],
        "gradient_accumulation_steps": t["gradient_accumulation_steps"], "seed": t["seed"],
        "logging_steps": t["logging_steps"], "save_steps": t["save_steps"],
        "max_completion_length": g["max_completion_length"], "temperature": g["temperature"],
        "report_to": "none",
    }
    if "epochs_per_level" in c:
        kwargs["num_train_epochs"] = c["epochs_per_level"]
    if c["mode"] == "ordered":
        kwargs["shuffle_dataset"] = False
    kwargs.update({k: v for k, v in t.items() if k not in _TRAINER_MAPPED})
    kwargs.update({k: v for k, v in config.trl.items() if k != "conversational"})
    return kwargs


def steps_per_level(config: Config) -> list[int | None]:
    levels = config.curriculum["levels"]
    steps = config.curriculum.get("steps_per_level")
    if isinstance(steps, list):
        return list(steps)
    return [steps] * len(levels)


def plan_trl(config: Config, result: Plan) -> Plan:
    """Fill ``result`` with the trl steps for ``config`` (nothing heavy is imported, no data read)."""
    c = config.curriculum
    levels = list(c["levels"])
    output_dir = Path(config.trainer["output_dir"])
    result.resume = bool(config.trainer.get("resume", False))
    result.grpo_kwargs = grpo_kwargs(config)
    result.reward_kwargs = reward_kwargs(config)
    steps = steps_per_level(config)
    result.stages = [{"level": lvl, "max_steps": s} for lvl, s in zip(levels, steps, strict=True)]
    conversational = bool(config.trl.get("conversational", True))
    result.steps.append(f"read {c['data']}: one dataset per level {levels} "
                        f"({'chat' if conversational else 'plain'} prompts)")
    result.steps.append(f"load the policy {config.policy['model']} with transformers; build trl.GRPOTrainer "
                        "with ifverify.backends.trl.make_reward_funcs(**reward)")
    if c["mode"] == "swap":
        per = ", ".join(f"L{s['level']}: {s['max_steps'] or 'epochs'}" for s in result.stages)
        result.steps.append(f"train_curriculum: level after level on one optimizer (steps {per})")
        folders = ", ".join(f"{stage_folder_name(i, lvl)} (L{lvl})" for i, lvl in enumerate(levels, 1))
        result.checkpoints = f"{output_dir}/: {folders}"
    else:
        result.steps.append("train once on the levels concatenated in order (shuffle_dataset=False)")
        result.checkpoints = f"{output_dir}/checkpoint-<step>"
    result.resume_state = describe_resume(output_dir, levels, mode=c["mode"], resume=result.resume)
    result.steps.append(f"print the reward per step and per level; write them to "
                        f"{Path(config.trainer['output_dir']) / SUMMARY_FILE}")
    return result


@dataclass
class TrlRun:
    """What a trl run produced.

    ``summary`` is :func:`train_summary`'s dict (also written to ``summary_path``); ``stages`` holds one dict per
    stage as :func:`~ifverify.backends.trl.train_curriculum` returns them (``ordered``: one, from
    :func:`~ifverify.backends.trl.train_ordered`), stages skipped by a resume included.
    """

    summary: dict[str, Any]
    summary_path: Path
    stages: list[dict[str, Any]]


def load_policy(model: str) -> tuple[Any, Any]:
    """(model, tokenizer) for ``policy.model``: :func:`ifverify.models.load_policy`, its errors naming the key."""
    from ifverify.models import load_policy as load

    try:
        return load(model)
    except (FileNotFoundError, ValueError) as exc:
        raise type(exc)(f"policy.model: {exc}") from None


def run_trl(p: Plan) -> TrlRun:
    started = time.monotonic()
    require_backend("trl")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRL_TELEMETRY", "0")
    from trl import GRPOConfig, GRPOTrainer

    from ifverify.backends.trl import curriculum_datasets, make_reward_funcs, train_curriculum, train_ordered

    config = p.config
    levels = [s["level"] for s in p.stages]
    by_level = curriculum_datasets(config.curriculum["data"], levels=levels,
                                   conversational=bool(config.trl.get("conversational", True)))
    stages = {lvl: by_level[lvl] for lvl in levels}
    model, tokenizer = load_policy(config.policy["model"])
    reward_funcs: Any = make_reward_funcs(**p.reward_kwargs, classifier_hint=CONFIG_HINT)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=reward_funcs,
                          args=GRPOConfig(**p.grpo_kwargs), train_dataset=stages[levels[0]])
    setup_seconds = time.monotonic() - started
    steps = [s["max_steps"] for s in p.stages]
    stage_levels: list[int | None]
    if config.curriculum["mode"] == "swap":
        done = train_curriculum(trainer, stages, max_steps=None if steps[0] is None else steps, resume=p.resume)
        stage_levels = list(levels)
    else:
        total = None if steps[0] is None else sum(int(s) for s in steps if s is not None)
        done = train_ordered(trainer, stages, max_steps=total, resume=p.resume)
        stage_levels = [None]  # one pass over the levels in order: a step is not attributed to one level
    resumed = [{"stage": i, "level": level, "resumed": s["resumed"], "resumed_from": s["resumed_from"],
                "checkpoint": s["checkpoint"]} for i, (s, level) in enumerate(zip(done, stage_levels, strict=True), 1)]
    summary = train_summary([s["log_history"] for s in done], stage_levels,
                            wall_seconds=time.monotonic() - started, setup_seconds=round(setup_seconds, 2),
                            policy=config.policy["model"], mode=config.curriculum["mode"], resume=p.resume,
                            stage_runs=resumed)
    return TrlRun(summary=summary, summary_path=write_summary(summary, config.trainer["output_dir"]), stages=done)
