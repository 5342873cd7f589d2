"""From a :class:`~ifverify.backends.config.Config` to what runs: :func:`plan` describes it, :func:`run` does it.

Rules:

- :func:`plan` imports nothing heavy (no torch, trl, datasets, openrlhf, verl) and reads no data (for trl it
  looks at what ``trainer.output_dir`` holds: checkpoint folders and stage markers); it is what
  ``ifverify train --dry-run`` prints.
- ``trl``: the Python steps.  One dataset per configured level (in the order of ``curriculum.levels``),
  the ``GRPOConfig`` keyword arguments and the reward settings for
  :func:`ifverify.backends.trl.make_reward_funcs`.  ``swap`` trains level after level on one trainer
  (:func:`~ifverify.backends.trl.train_curriculum`); ``ordered`` trains once on the levels concatenated with
  ``shuffle_dataset=False``.  Checkpoints: ``swap`` writes each level's under ``<output_dir>/stage-<i>-<level>``,
  ``ordered`` under ``<output_dir>``.  ``trainer.resume`` (or ``ifverify train --resume``) continues an interrupted
  run from them (:func:`~ifverify.backends.trl.train_curriculum`, :func:`~ifverify.backends.trl.train_ordered`);
  a run without it refuses an ``output_dir`` that holds checkpoints.  ``GRPOConfig`` gets, in this order: the
  mapped keys below, then every other ``trainer`` key, then the ``trl`` block (minus ``conversational``, default
  true: the prompt becomes one user message so TRL applies the chat template).
- ``openrlhf`` / ``verl``: a conversion step (the curriculum rows of the configured levels, in level order,
  to ``<output_dir>/data/train.jsonl`` with a ``label`` column, or ``<output_dir>/data/train.parquet``) and
  the command line as a list.  Those backends have no level swap: both modes run one ordered pass.
  Extra backend settings are appended after the built flags (so they win where the trainer takes the last
  value): OpenRLHF ``openrlhf.vllm`` keys as ``--vllm.<key>``, then
  ``openrlhf.flags`` as ``--<key> <value>`` (``true`` alone as ``--<key>``, ``false`` left out), then
  ``openrlhf.args`` verbatim; verl ``verl.settings`` as ``<key>=<value>``, then ``verl.overrides`` verbatim.
  The ``reward:`` block reaches their reward function as ``IFVERIFY_*`` environment variables
  (:func:`ifverify.backends.reward_env.reward_env`), set for the trainer's process and printed in the plan.
- The command starts with ``python``; :func:`run` replaces it with ``sys.executable``.
- The policy (``trl``): :func:`ifverify.models.load_policy` loads the packaged SmolLM2 GGUF (``policy.model:
  packaged:smollm2-135m-instruct``), a ``.gguf`` file, a local checkpoint folder, or a model already in the local
  Hugging Face cache (float32, trainable, nothing downloaded); any other name fails saying the folder does not
  exist.  :func:`plan` re-checks that openrlhf/verl get no GGUF policy
  (:func:`~ifverify.backends.config.check_policy`).
- The summary (``trl``): after training, :func:`train_summary` turns the Trainer's ``log_history`` into one row per
  logged step (stage, level, step, reward mean, per-constraint pass rates) and a per-level trend, with the wall
  time; :func:`run` writes it to ``<output_dir>/train_summary.json`` and :func:`render_summary` prints it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.backends.config import Config, check_policy, check_resume, policy_kind
from ifverify.backends.reward_env import reward_env

BACKENDS_DIR = Path(__file__).resolve().parent
OPENRLHF_MODULE = "openrlhf.cli.train_ppo_ray"
VERL_MODULE = "verl.trainer.main_ppo"
VERL_REWARD_NAME = "compute_score"
SUMMARY_FILE = "train_summary.json"
PASS_RATE_PREFIX = "ifverify/pass_rate/"  # the key ifverify.backends.trl logs per constraint id
#: How to install each backend, as docs/backends/<backend>.md says (a test keeps them in agreement).
INSTALL = {
    "trl": 'in the main environment: pip install -e ".[soft,trl]" (bash scripts/setup.sh does it)',
    "openrlhf": 'OpenRLHF runs in an environment of its own, on a CUDA machine: pip install -e ".[openrlhf]" '
                "there (docs/backends/openrlhf.md)",
    "verl": 'verl runs in an environment of its own, on a CUDA machine: pip install -e ".[verl]" there '
            "(docs/backends/verl.md)",
}
#: What each backend's run imports: its entry module first, then the packages it cannot start without.
RUNTIME = {"trl": ("trl", "datasets"), "openrlhf": (OPENRLHF_MODULE, "ray", "deepspeed"),
           "verl": (VERL_MODULE, "ray", "hydra")}


#: How a training config sets a classifier, named in the reason of an unscored soft constraint.
CONFIG_HINT = "set reward.classifier in the config: default, a classifier folder or judge:<url>"


class BackendUnavailable(RuntimeError):
    """The backend's package is not importable; the message names the extra to install."""


@dataclass
class Plan:
    """Exactly what :func:`run` will do for one config.

    ``command`` and ``conversion`` (``{"format", "source", "target", "levels"}``) are set for openrlhf and
    verl; ``grpo_kwargs``, ``reward_kwargs``, ``stages``, ``resume``, ``checkpoints`` (where the checkpoints go)
    and ``resume_state`` (what the run will do with what ``output_dir`` holds) for trl.
    """

    config: Config
    backend: str
    steps: list[str] = field(default_factory=list)
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    conversion: dict[str, Any] | None = None
    grpo_kwargs: dict[str, Any] = field(default_factory=dict)
    reward_kwargs: dict[str, Any] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)
    resume: bool = False
    checkpoints: str | None = None
    resume_state: str | None = None

    def summary(self) -> str:
        """The printable description: backend, steps, and (openrlhf/verl) the shell-quoted command."""
        model = self.config.policy["model"]
        loads = describe_policy(model)
        policy = f"policy: {model}" + ("" if loads == model else f" ({loads})")
        lines = [f"backend: {self.backend}", f"config: {self.config.path}", policy]
        lines += [f"step {i}: {step}" for i, step in enumerate(self.steps, 1)]
        if self.conversion is not None:
            lines.append(f"convert: {self.conversion['source']} -> {self.conversion['target']} "
                         f"({self.conversion['format']}, levels {self.conversion['levels']})")
        if self.env:
            lines.append("env: " + " ".join(f"{key}={shlex.quote(value)}" for key, value in self.env.items()))
        if self.command is not None:
            lines.append("command: " + shlex.join(self.command))
        if self.checkpoints is not None:
            lines.append("checkpoints: " + self.checkpoints)
        if self.resume_state is not None:
            lines.append(self.resume_state)
        if self.grpo_kwargs:
            lines.append("GRPOConfig: " + json.dumps(self.grpo_kwargs, sort_keys=True))
        if self.reward_kwargs:
            lines.append("reward: " + json.dumps(self.reward_kwargs, sort_keys=True))
        return "\n".join(lines)


def describe_policy(model: str) -> str:
    """What ``policy.model`` loads, for the plan: the GGUF file (the packaged one looked up without importing
    it, or its install command when missing) for packaged/``.gguf`` policies, else ``model`` itself."""
    kind = policy_kind(model)
    if kind == "hf":
        return model
    if kind == "gguf":
        return f"GGUF file {model}, de-quantized to float32"
    from ifverify.models import MissingDependencyError, default_policy_gguf

    try:
        folder, name = default_policy_gguf()
    except MissingDependencyError as exc:
        return f"the packaged SmolLM2-135M-Instruct GGUF, NOT INSTALLED: {exc}"
    return f"the packaged SmolLM2-135M-Instruct GGUF {folder / name}, de-quantized to float32"


def _fmt(value: Any) -> str:
    """A flag value as text: booleans lower-case, everything else ``str`` (floats keep ``repr`` form)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


def _steps_per_level(config: Config) -> list[int | None]:
    levels = config.curriculum["levels"]
    steps = config.curriculum.get("steps_per_level")
    if isinstance(steps, list):
        return list(steps)
    return [steps] * len(levels)


def openrlhf_reward_path() -> str:
    """The reward file for ``--reward.remote_url``: ``ifverify.backends.openrlhf.reward_file_path()``.

    Until that module exists, the file ``ifverify/backends/openrlhf.py`` is named instead.
    """
    try:
        from ifverify.backends import openrlhf
    except ImportError:
        return str(BACKENDS_DIR / "openrlhf.py")
    getter = getattr(openrlhf, "reward_file_path", None)
    return str(getter()) if callable(getter) else str(BACKENDS_DIR / "openrlhf.py")


def verl_reward_path() -> str:
    """The file of module ``ifverify.backends.verl`` (found without importing it)."""
    return str(BACKENDS_DIR / "verl.py")


def openrlhf_command(config: Config, data_path: str) -> list[str]:
    """The ``openrlhf.cli.train_ppo_ray`` command line (OpenRLHF 0.11.2 dotted flags)."""
    t, g = config.trainer, config.generation
    # Flag names checked against the argument parser of openrlhf 0.11.2 (openrlhf/cli/train_ppo_ray.py).
    cmd = [
        "python", "-m", OPENRLHF_MODULE,
        "--actor.model_name_or_path", config.policy["model"],
        "--data.prompt_dataset", data_path,
        "--data.input_key", "prompt",
        "--data.label_key", "label",
        "--data.max_len", _fmt(g["max_prompt_length"] + g["max_completion_length"]),  # prompt + response
        "--rollout.max_new_tokens", _fmt(g["max_completion_length"]),
        "--rollout.temperature", _fmt(g["temperature"]),
        "--rollout.n_samples_per_prompt", _fmt(t["num_generations"]),
        "--reward.remote_url", openrlhf_reward_path(),
        "--algo.advantage.estimator", "group_norm",
        "--actor.adam.lr", _fmt(t["learning_rate"]),
        "--algo.kl.init_coef", _fmt(t["kl_coef"]),
        "--ckpt.output_dir", t["output_dir"],
        "--train.seed", _fmt(t["seed"]),
    ]
    o = config.openrlhf
    for key, value in (o.get("vllm") or {}).items():  # vLLM engine settings: --vllm.<key>
        cmd += _flag(f"vllm.{key}", value)
    for key, value in (o.get("flags") or {}).items():  # any other dotted flag, e.g. actor.num_gpus_per_node
        cmd += _flag(key, value)
    cmd += [str(a) for a in o.get("args") or []]
    return cmd


def _flag(name: str, value: Any) -> list[str]:
    if value is True:
        return [f"--{name}"]
    if value is False or value is None:
        return []
    return [f"--{name}", _fmt(value)]


def verl_command(config: Config, data_path: str) -> list[str]:
    """The ``verl.trainer.main_ppo`` command line (verl 0.9.1 Hydra overrides)."""
    t, g = config.trainer, config.generation
    cmd = [
        "python", "-m", VERL_MODULE,
        "algorithm.adv_estimator=grpo",
        f"data.train_files={data_path}",
        f"data.val_files={data_path}",  # verl wants a validation set; the training file stands in
        "data.prompt_key=prompt",
        f"data.max_prompt_length={g['max_prompt_length']}",
        f"data.max_response_length={g['max_completion_length']}",
        "data.shuffle=false",  # verl 0.9.1 then samples with a SequentialSampler: the level order is kept
        f"actor_rollout_ref.model.path={config.policy['model']}",
        f"actor_rollout_ref.actor.optim.lr={_fmt(t['learning_rate'])}",
        f"actor_rollout_ref.actor.use_kl_loss={_fmt(t['kl_coef'] > 0)}",
        f"actor_rollout_ref.actor.kl_loss_coef={_fmt(t['kl_coef'])}",
        "algorithm.use_kl_in_reward=false",
        f"algorithm.kl_ctrl.kl_coef={_fmt(t['kl_coef'])}",
        f"actor_rollout_ref.rollout.n={t['num_generations']}",
        f"actor_rollout_ref.rollout.temperature={_fmt(g['temperature'])}",
        f"reward.custom_reward_function.path={verl_reward_path()}",
        f"reward.custom_reward_function.name={VERL_REWARD_NAME}",
        f"trainer.default_local_dir={t['output_dir']}",  # verl 0.9.1's checkpoint folder
        f"trainer.save_freq={t['save_steps']}",
    ]
    for key, value in (config.verl.get("settings") or {}).items():
        cmd.append(f"{key}={_fmt(value)}")
    cmd += [str(a) for a in config.verl.get("overrides") or []]
    return cmd


def plan(config: Config) -> Plan:
    """What :func:`run` would do for ``config`` (nothing heavy is imported, no data read, nothing written)."""
    c = config.curriculum
    result = Plan(config=config, backend=config.backend)
    levels = list(c["levels"])
    check_resume(config.backend, config.trainer.get("resume"), str(config.path))
    if config.backend == "trl":
        from ifverify.backends.trl import describe_resume, stage_folder_name

        output_dir = Path(config.trainer["output_dir"])
        result.resume = bool(config.trainer.get("resume", False))
        result.grpo_kwargs = grpo_kwargs(config)
        result.reward_kwargs = reward_kwargs(config)
        steps = _steps_per_level(config)
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
    check_policy(config.backend, config.policy["model"], str(config.path))  # a GGUF policy: ConfigError
    fmt, name = ("openrlhf-jsonl", "train.jsonl") if config.backend == "openrlhf" else ("verl-parquet", "train.parquet")
    target = str(Path(config.trainer["output_dir"]) / "data" / name)
    result.conversion = {"format": fmt, "source": c["data"], "target": target, "levels": levels}
    result.steps.append(f"convert the curriculum (levels {levels}, in order) to {target}")
    if c["mode"] == "swap":
        result.steps.append(f"{config.backend} has no level swap: the levels run as one ordered pass")
    build = openrlhf_command if config.backend == "openrlhf" else verl_command
    result.command = build(config, target)
    result.env = reward_env(config.reward)
    result.steps.append(f"run python -m {result.command[2]} (needs CUDA)")
    return result


# -- running -------------------------------------------------------------------------------------------
def _require(backend: str) -> None:
    """Fail, in one line naming what is missing and the environment to install it in, unless every module of
    ``RUNTIME[backend]`` can be found (found, not imported: a module's parent packages are imported)."""
    missing = []
    for module in RUNTIME[backend]:
        try:
            found = importlib.util.find_spec(module) is not None
        except Exception:  # a parent package failed to import (e.g. a missing dependency)
            found = False
        if not found:
            missing.append(module)
    if missing:
        raise BackendUnavailable(f"the {backend} backend is not installed in this environment (missing: "
                                 f"{', '.join(missing)}); {INSTALL[backend]}")


def curriculum_rows(path: str, levels: list[int]) -> list[dict[str, Any]]:
    """The rows of the given levels, ordered by ``levels`` (file order within a level; no level = 0)."""
    by_level: dict[int, list[dict[str, Any]]] = {lvl: [] for lvl in levels}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                level = int(row.get("level", 0))
                if level in by_level:
                    by_level[level].append(row)
    missing = [lvl for lvl, rows in by_level.items() if not rows]
    if missing:
        raise ValueError(f"{path}: no rows for level(s) {missing}")
    return [row for lvl in levels for row in by_level[lvl]]


def run(p: Plan) -> Any:
    """Do what ``p`` describes.

    trl: train, write ``<output_dir>/train_summary.json`` and return a :class:`TrlRun`.  openrlhf/verl: convert
    the data, run the command and return its exit code.  Raises :class:`BackendUnavailable` when the backend's
    package is missing.
    """
    if p.backend == "trl":
        return _run_trl(p)
    _require(p.backend)
    assert p.conversion is not None and p.command is not None
    rows = curriculum_rows(p.conversion["source"], p.conversion["levels"])
    target = Path(p.conversion["target"])
    target.parent.mkdir(parents=True, exist_ok=True)
    if p.backend == "openrlhf":
        from ifverify.backends.openrlhf import write_openrlhf_jsonl

        write_openrlhf_jsonl(rows, target)
    else:
        from ifverify.backends.verl import write_verl_parquet

        write_verl_parquet(rows, target)
    argv = [sys.executable, *p.command[1:]]
    return subprocess.call(argv, env={**os.environ, **p.env})


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


def _run_trl(p: Plan) -> TrlRun:
    started = time.monotonic()
    _require("trl")
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


# -- the training summary ------------------------------------------------------------------------------
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
