"""From a :class:`~ifverify.backends.config.Config` to what runs: :func:`plan` describes it, :func:`run` does it.

Rules:

- :func:`plan` imports nothing heavy (no torch, trl, datasets, openrlhf, verl) and reads no data; it is
  what ``ifverify train --dry-run`` prints.
- ``trl``: the Python steps.  One dataset per configured level (in the order of ``curriculum.levels``),
  the ``GRPOConfig`` keyword arguments and the reward settings for
  :func:`ifverify.backends.trl.make_reward_funcs`.  ``swap`` trains level after level on one trainer
  (:func:`~ifverify.backends.trl.train_curriculum`); ``ordered`` trains once on the levels concatenated with
  ``shuffle_dataset=False``.  ``GRPOConfig`` gets, in this order: the mapped keys below, then every other
  ``trainer`` key, then the ``trl`` block (minus ``conversational``, default true: the prompt becomes one
  user message so TRL applies the chat template).
- ``openrlhf`` / ``verl``: a conversion step (the curriculum rows of the configured levels, in level order,
  to ``<output_dir>/data/train.jsonl`` with a ``label`` column, or ``<output_dir>/data/train.parquet``) and
  the command line as a list.  Those backends have no level swap: both modes run one ordered pass.
  Extra backend settings are appended after the built flags (so they win where the trainer takes the last
  value): OpenRLHF ``openrlhf.vllm`` keys as ``--vllm.<key>``, then
  ``openrlhf.flags`` as ``--<key> <value>`` (``true`` alone as ``--<key>``, ``false`` left out), then
  ``openrlhf.args`` verbatim; verl ``verl.settings`` as ``<key>=<value>``, then ``verl.overrides`` verbatim.
- The command starts with ``python``; :func:`run` replaces it with ``sys.executable``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.backends.config import Config

BACKENDS_DIR = Path(__file__).resolve().parent
OPENRLHF_MODULE = "openrlhf.cli.train_ppo_ray"
VERL_MODULE = "verl.trainer.main_ppo"
VERL_REWARD_NAME = "compute_score"
INSTALL = {"trl": 'pip install "ifverify[trl]"', "openrlhf": 'pip install "ifverify[openrlhf]"',
           "verl": 'pip install "ifverify[verl]"'}


class BackendUnavailable(RuntimeError):
    """The backend's package is not importable; the message names the extra to install."""


@dataclass
class Plan:
    """Exactly what :func:`run` will do for one config.

    ``command`` and ``conversion`` (``{"format", "source", "target", "levels"}``) are set for openrlhf and
    verl; ``grpo_kwargs``, ``reward_kwargs`` and ``stages`` for trl.
    """

    config: Config
    backend: str
    steps: list[str] = field(default_factory=list)
    command: list[str] | None = None
    conversion: dict[str, Any] | None = None
    grpo_kwargs: dict[str, Any] = field(default_factory=dict)
    reward_kwargs: dict[str, Any] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        """The printable description: backend, steps, and (openrlhf/verl) the shell-quoted command."""
        lines = [f"backend: {self.backend}", f"config: {self.config.path}", f"policy: {self.config.policy['model']}"]
        lines += [f"step {i}: {step}" for i, step in enumerate(self.steps, 1)]
        if self.conversion is not None:
            lines.append(f"convert: {self.conversion['source']} -> {self.conversion['target']} "
                         f"({self.conversion['format']}, levels {self.conversion['levels']})")
        if self.command is not None:
            lines.append("command: " + shlex.join(self.command))
        if self.grpo_kwargs:
            lines.append("GRPOConfig: " + json.dumps(self.grpo_kwargs, sort_keys=True))
        if self.reward_kwargs:
            lines.append("reward: " + json.dumps(self.reward_kwargs, sort_keys=True))
        return "\n".join(lines)


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
                   "gradient_accumulation_steps", "seed", "logging_steps", "save_steps")


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
        "data.shuffle=false",  # keep the level order (unsure the key is honoured by every sampler)
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
        f"trainer.default_local_dir={t['output_dir']}",  # unsure: the checkpoint folder key
        f"trainer.save_freq={t['save_steps']}",
    ]
    for key, value in (config.verl.get("settings") or {}).items():
        cmd.append(f"{key}={_fmt(value)}")
    cmd += [str(a) for a in config.verl.get("overrides") or []]
    return cmd


def plan(config: Config) -> Plan:
    """What :func:`run` would do for ``config`` (nothing is read, written or imported)."""
    c = config.curriculum
    result = Plan(config=config, backend=config.backend)
    levels = list(c["levels"])
    if config.backend == "trl":
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
        else:
            result.steps.append("train once on the levels concatenated in order (shuffle_dataset=False)")
        return result
    fmt, name = ("openrlhf-jsonl", "train.jsonl") if config.backend == "openrlhf" else ("verl-parquet", "train.parquet")
    target = str(Path(config.trainer["output_dir"]) / "data" / name)
    result.conversion = {"format": fmt, "source": c["data"], "target": target, "levels": levels}
    result.steps.append(f"convert the curriculum (levels {levels}, in order) to {target}")
    if c["mode"] == "swap":
        result.steps.append(f"{config.backend} has no level swap: the levels run as one ordered pass")
    build = openrlhf_command if config.backend == "openrlhf" else verl_command
    result.command = build(config, target)
    result.steps.append(f"run python -m {result.command[2]} (needs CUDA)")
    return result


# -- running -------------------------------------------------------------------------------------------
def _require(backend: str, module: str) -> None:
    """Fail with the extra to install unless ``module`` can be found (its parent packages are imported)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except Exception as exc:  # a parent package failed to import (e.g. a missing dependency)
        raise BackendUnavailable(f"the {backend} backend is not importable ({module}: {type(exc).__name__}: "
                                 f"{exc}): {INSTALL[backend]}") from None
    if not found:
        raise BackendUnavailable(f"the {backend} backend needs {module}: {INSTALL[backend]}")


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

    trl: train and return :func:`train_curriculum`'s stage list (``swap``) or ``train()``'s output
    (``ordered``).  openrlhf/verl: convert the data, run the command and return its exit code.
    Raises :class:`BackendUnavailable` when the backend's package is missing.
    """
    if p.backend == "trl":
        return _run_trl(p)
    _require(p.backend, OPENRLHF_MODULE if p.backend == "openrlhf" else VERL_MODULE)
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
    return subprocess.call(argv)


def _run_trl(p: Plan) -> Any:
    _require("trl", "trl")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRL_TELEMETRY", "0")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from ifverify.backends.trl import curriculum_datasets, make_reward_funcs, ordered_dataset, train_curriculum

    config = p.config
    levels = [s["level"] for s in p.stages]
    by_level = curriculum_datasets(config.curriculum["data"], levels=levels,
                                   conversational=bool(config.trl.get("conversational", True)))
    stages = {lvl: by_level[lvl] for lvl in levels}
    model_path = config.policy["model"]
    model = AutoModelForCausalLM.from_pretrained(model_path)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    reward_funcs: Any = make_reward_funcs(**p.reward_kwargs)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=reward_funcs,
                          args=GRPOConfig(**p.grpo_kwargs), train_dataset=stages[levels[0]])
    steps = [s["max_steps"] for s in p.stages]
    if config.curriculum["mode"] == "swap":
        return train_curriculum(trainer, stages, max_steps=None if steps[0] is None else steps)
    trainer.train_dataset = ordered_dataset(stages)
    if steps[0] is not None:
        trainer.args.max_steps = sum(int(s) for s in steps if s is not None)
    return trainer.train()
