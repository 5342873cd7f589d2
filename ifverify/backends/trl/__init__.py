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

The package: :mod:`.rewards` (the reward functions), :mod:`.curriculum` (datasets and curriculum training),
:mod:`.resume` (checkpoints and resuming), :mod:`.run` (what ``ifverify train`` does with a trl config) and
:mod:`.summary` (the per-step and per-level training summary).

Importing this package imports neither torch, trl nor datasets; the functions that need them import
them on first use and say how to install them (``pip install -e ".[soft,trl]"``).
"""

from __future__ import annotations

from ifverify.backends.trl._deps import INSTALL_HINT
from ifverify.backends.trl.curriculum import (
    curriculum_datasets,
    ordered_dataset,
    rows_to_dataset,
    train_curriculum,
    train_ordered,
)
from ifverify.backends.trl.resume import (
    OPTIMIZER_FILE,
    RUN_MARKER,
    SCHEDULER_FILE,
    STAGE_MARKER,
    TRAINER_STATE_FILE,
    StageState,
    describe_resume,
    inspect_stages,
    latest_checkpoint,
    stage_folder_name,
    write_json_atomic,
)
from ifverify.backends.trl.rewards import PASS_RATE_PREFIX, AsyncTRLReward, TRLReward, make_reward_funcs, pass_rates

__all__ = [
    "INSTALL_HINT", "OPTIMIZER_FILE", "PASS_RATE_PREFIX", "RUN_MARKER", "SCHEDULER_FILE", "STAGE_MARKER",
    "TRAINER_STATE_FILE", "AsyncTRLReward", "StageState", "TRLReward", "curriculum_datasets", "describe_resume",
    "inspect_stages", "latest_checkpoint", "make_reward_funcs", "ordered_dataset", "pass_rates", "rows_to_dataset",
    "stage_folder_name", "train_curriculum", "train_ordered", "write_json_atomic",
]
