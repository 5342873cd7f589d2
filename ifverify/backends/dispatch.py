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
- Where the code lives: each backend's own part is in its module (``trl/run.py``, ``openrlhf.py``,
  ``verl.py``); this module only dispatches.  The names below stay importable from here.
- The summary (``trl``): after training, :func:`train_summary` turns the Trainer's ``log_history`` into one row per
  logged step (stage, level, step, reward mean, per-constraint pass rates) and a per-level trend, with the wall
  time; :func:`run` writes it to ``<output_dir>/train_summary.json`` and :func:`render_summary` prints it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.backends.config import Config, check_policy, check_resume, policy_kind
from ifverify.backends.install import (  # noqa: F401  (importable from here, as before the split)
    INSTALL,
    OPENRLHF_MODULE,
    RUNTIME,
    VERL_MODULE,
    BackendUnavailable,
    require_backend,
)
from ifverify.backends.openrlhf import openrlhf_command
from ifverify.backends.reward_env import reward_env
from ifverify.backends.trl.rewards import PASS_RATE_PREFIX  # noqa: F401
from ifverify.backends.trl.run import (  # noqa: F401
    CONFIG_HINT,
    TrlRun,
    grpo_kwargs,
    load_policy,
    reward_kwargs,
)
from ifverify.backends.trl.summary import (  # noqa: F401
    SUMMARY_FILE,
    level_trend,
    render_summary,
    step_row,
    train_summary,
    write_summary,
)
from ifverify.backends.verl import VERL_REWARD_NAME, verl_command  # noqa: F401


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


def plan(config: Config) -> Plan:
    """What :func:`run` would do for ``config`` (nothing heavy is imported, no data read, nothing written)."""
    c = config.curriculum
    result = Plan(config=config, backend=config.backend)
    levels = list(c["levels"])
    check_resume(config.backend, config.trainer.get("resume"), str(config.path))
    if config.backend == "trl":
        from ifverify.backends.trl.run import plan_trl

        return plan_trl(config, result)
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
        from ifverify.backends.trl.run import run_trl

        return run_trl(p)
    require_backend(p.backend)
    from ifverify.models import require_policy_source

    try:
        require_policy_source(p.config.policy["model"])  # the trainer would otherwise fail with a hub error
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"policy.model: {exc}") from None
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
