"""Curriculum checkpoints and resume with a real ``trl.GRPOTrainer`` on CPU (the tiny policy of test_trl.py).

Every test trains for real; an interruption is an exception raised from a ``TrainerCallback`` or from
``on_stage_end``, as a crash or a kill would leave the folders.  The runs are deterministic on CPU (two runs
with the same seed end with bit-identical parameters), so a resumed run must end with exactly the parameters and
optimizer state of an uninterrupted one: the comparisons use ``torch.equal``, no tolerance.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")
pytest.importorskip("datasets")

from test_trl import HARD, tiny_model_and_tokenizer  # noqa: E402

from ifverify.backends.trl import (  # noqa: E402
    RUN_MARKER,
    STAGE_MARKER,
    curriculum_datasets,
    latest_checkpoint,
    make_reward_funcs,
    train_curriculum,
    train_ordered,
)
from ifverify.data.curriculum import build_curriculum, load_bundled_seeds, write_rows  # noqa: E402

STAGE_1, STAGE_2 = "stage-1-1", "stage-2-2"


class Interrupted(Exception):
    """Stands for a crash or a kill in the middle of a run."""


def variety(completions: list[Any], **_: Any) -> list[float]:
    """A reward that differs between the completions of a group (distinct characters), so GRPO's advantages, and
    with them the gradients, are not zero: the tiny random policy passes the hard checks all alike."""
    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    return [len(set(text)) / 8 for text in texts]


@pytest.fixture(scope="module")
def levels() -> dict[int, Any]:
    rows = build_curriculum(load_bundled_seeds()[:2], n_constraints=2, soft_ratio=0, hard_ids=HARD)
    return curriculum_datasets(rows, conversational=True)


def make_trainer(output_dir: Path, levels: dict[int, Any], callbacks: list[Any] | None = None,
                 **config: Any) -> Any:
    """A GRPOTrainer on the tiny policy: one prompt x 2 completions a step (so a level of 2 rows is 2 steps, one
    epoch), 2 steps a stage, a checkpoint after every step."""
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = tiny_model_and_tokenizer()
    settings: dict[str, Any] = {
        "output_dir": str(output_dir), "use_cpu": True, "bf16": False, "use_vllm": False, "report_to": "none",
        "per_device_train_batch_size": 2, "num_generations": 2, "max_completion_length": 8, "max_steps": 2,
        "logging_steps": 1, "save_strategy": "steps", "save_steps": 1, "learning_rate": 1e-3, "seed": 0,
        "dataloader_num_workers": 0, **config}
    return GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[*make_reward_funcs(), variety],
                       args=GRPOConfig(**settings), train_dataset=levels[1], callbacks=callbacks)


def params(model: Any) -> dict[str, Any]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def saved_params(checkpoint: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(checkpoint / "model.safetensors"))


def saved_optimizer_state(checkpoint: Path) -> dict[int, dict[str, Any]]:
    import torch

    return torch.load(checkpoint / "optimizer.pt", weights_only=True)["state"]


def assert_same_tensors(left: dict[Any, Any], right: dict[Any, Any]) -> None:
    import torch

    assert left.keys() == right.keys()
    for key in left:
        if isinstance(left[key], dict):
            assert_same_tensors(left[key], right[key])
        else:
            assert torch.equal(torch.as_tensor(left[key]), torch.as_tensor(right[key])), key


def differs(left: dict[str, Any], right: dict[str, Any]) -> bool:
    import torch

    return any(not torch.equal(left[name], right[name]) for name in left)


def checkpoints(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("checkpoint-"))


def stop_after_save(folder: str, step: int) -> Any:
    """A callback that interrupts the run once the checkpoint of ``step`` in stage folder ``folder`` is saved."""
    from transformers import TrainerCallback

    class StopAfterSave(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if Path(args.output_dir).name == folder and state.global_step == step:
                raise Interrupted(f"after {folder}/checkpoint-{step}")

    return StopAfterSave()


def on_train_begin_recorder(record: list[dict[str, Any]]) -> Any:
    """A callback that records, whenever ``train()`` starts, the stage folder, the model parameters and the
    optimizer state (after the Trainer prepared the optimizer and built the scheduler, before the first step)."""
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            record.append({"folder": Path(args.output_dir).name, "params": params(kwargs["model"]),
                           "optimizer": copy.deepcopy(kwargs["optimizer"].state_dict()["state"])})

    return Record()


@pytest.fixture(scope="module")
def reference(levels: dict[int, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An uninterrupted two-stage run (L1 then L2, 2 steps each): its folder, stage results, the parameters after
    stage 1 and at the end, and the trainer's output_dir afterwards."""
    root = tmp_path_factory.mktemp("reference") / "run"
    trainer = make_trainer(root, levels)
    after_stage_1: dict[str, Any] = {}
    info = train_curriculum(trainer, {1: levels[1], 2: levels[2]},
                            on_stage_end=lambda i, s: after_stage_1.update(params(trainer.model)) if i == 0 else None)
    return {"root": root, "info": info, "after_stage_1": after_stage_1, "final": params(trainer.model),
            "output_dir": trainer.args.output_dir}


# -- (a) per-stage folders --------------------------------------------------------------------------------------
def test_stages__keep_their_checkpoints_in_their_own_folders(reference: dict[str, Any]) -> None:
    root: Path = reference["root"]
    assert reference["output_dir"] == str(root)  # restored after the stages
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [STAGE_1, STAGE_2]
    assert not any(p.name.startswith("checkpoint-") for p in root.iterdir())
    for folder in (STAGE_1, STAGE_2):
        assert checkpoints(root / folder) == ["checkpoint-1", "checkpoint-2"]
    # Both stages' checkpoint-2 survive, each with its own stage's end weights: stage 2 did not overwrite stage 1.
    stage_1_end = saved_params(root / STAGE_1 / "checkpoint-2")
    assert_same_tensors(stage_1_end, {k: v for k, v in reference["after_stage_1"].items() if k in stage_1_end})
    stage_2_end = saved_params(root / STAGE_2 / "checkpoint-2")
    assert_same_tensors(stage_2_end, {k: v for k, v in reference["final"].items() if k in stage_2_end})
    assert differs(stage_1_end, stage_2_end)
    for index, (folder, key) in enumerate([(STAGE_1, 1), (STAGE_2, 2)], start=1):
        marker = json.loads((root / folder / STAGE_MARKER).read_text(encoding="utf-8"))
        assert {k: marker[k] for k in ("stage", "key", "stages", "folder", "rows", "global_step", "checkpoint")} == {
            "stage": index, "key": key, "stages": 2, "folder": folder, "rows": 2, "global_step": 2,
            "checkpoint": "checkpoint-2"}
        assert datetime.fromisoformat(marker["finished"]).tzinfo is not None
        assert not list((root / folder).glob(".*.tmp"))  # the atomic write left no temporary file
    run_marker = json.loads((root / RUN_MARKER).read_text(encoding="utf-8"))
    assert [s["folder"] for s in run_marker["stages"]] == [STAGE_1, STAGE_2]
    assert [(s["stage"], s["index"], s["resumed"], Path(s["checkpoint"]).relative_to(root).as_posix())
            for s in reference["info"]] == [(1, 1, None, f"{STAGE_1}/checkpoint-2"),
                                            (2, 2, None, f"{STAGE_2}/checkpoint-2")]


# -- (b) interrupted during stage 2, after its first checkpoint -------------------------------------------------
def test_resume__interrupted_in_stage_2_ends_like_an_uninterrupted_run(reference: dict[str, Any],
                                                                       levels: dict[int, Any],
                                                                       tmp_path: Path) -> None:
    root = tmp_path / "run"
    stages = {1: levels[1], 2: levels[2]}
    with pytest.raises(Interrupted):
        train_curriculum(make_trainer(root, levels, callbacks=[stop_after_save(STAGE_2, 1)]), stages)
    assert (root / STAGE_1 / STAGE_MARKER).is_file() and not (root / STAGE_2 / STAGE_MARKER).exists()
    assert checkpoints(root / STAGE_2) == ["checkpoint-1"]
    stage_1_weights = root / STAGE_1 / "checkpoint-2" / "model.safetensors"
    written = stage_1_weights.stat().st_mtime_ns

    began: list[dict[str, Any]] = []
    trainer = make_trainer(root, levels, callbacks=[on_train_begin_recorder(began)])
    info = train_curriculum(trainer, stages, resume=True)

    assert [b["folder"] for b in began] == [STAGE_2]  # stage 1 was not trained again
    assert stage_1_weights.stat().st_mtime_ns == written
    skipped, resumed = info
    assert (skipped["resumed"], skipped["global_step"], skipped["rows"]) == ("skipped", 2, 2)
    assert [e["step"] for e in skipped["log_history"] if "loss" in e] == [1, 2]  # from its last checkpoint
    assert resumed["resumed"] == "checkpoint"
    assert resumed["resumed_from"] == str(root / STAGE_2 / "checkpoint-1")
    assert resumed["global_step"] == 2 and [e["step"] for e in resumed["log_history"] if "loss" in e] == [1, 2]
    assert checkpoints(root / STAGE_2) == ["checkpoint-1", "checkpoint-2"]
    assert json.loads((root / STAGE_2 / STAGE_MARKER).read_text(encoding="utf-8"))["checkpoint"] == "checkpoint-2"
    # Exactly the uninterrupted run's parameters and optimizer state, and the step after the resume did train.
    final = params(trainer.model)
    assert_same_tensors(final, reference["final"])
    resumed_at = saved_params(root / STAGE_2 / "checkpoint-1")
    assert differs(resumed_at, {name: final[name] for name in resumed_at})
    assert_same_tensors(saved_optimizer_state(root / STAGE_2 / "checkpoint-2"),
                        saved_optimizer_state(reference["root"] / STAGE_2 / "checkpoint-2"))
    assert trainer.args.output_dir == str(root)


# -- (c) interrupted right after stage 1 finished --------------------------------------------------------------
def test_resume__after_stage_1_starts_stage_2_from_its_weights_and_optimizer(reference: dict[str, Any],
                                                                            levels: dict[int, Any],
                                                                            tmp_path: Path) -> None:
    root = tmp_path / "run"
    stages = {1: levels[1], 2: levels[2]}

    def interrupt(position: int, stage: dict[str, Any]) -> None:
        raise Interrupted(f"after stage {stage['index']}")

    with pytest.raises(Interrupted):
        train_curriculum(make_trainer(root, levels), stages, on_stage_end=interrupt)
    assert not (root / STAGE_2).exists()  # stage 2 saved nothing

    began: list[dict[str, Any]] = []
    trainer = make_trainer(root, levels, callbacks=[on_train_begin_recorder(began)])
    info = train_curriculum(trainer, stages, resume=True)

    assert [b["folder"] for b in began] == [STAGE_2]
    # Before stage 2's first step the optimizer holds stage 1's saved state: Adam's moments of every parameter.
    saved = saved_optimizer_state(root / STAGE_1 / "checkpoint-2")
    state = began[0]["optimizer"]
    assert state and all({"exp_avg", "exp_avg_sq", "step"} <= set(s) for s in state.values())
    assert any(bool(s["exp_avg"].abs().sum() > 0) for s in state.values())
    assert_same_tensors(state, saved)
    assert_same_tensors(began[0]["params"], reference["after_stage_1"])
    assert [s["resumed"] for s in info] == ["skipped", "previous_stage"]
    assert info[1]["resumed_from"] == str(root / STAGE_1 / "checkpoint-2")
    # The random states came back too, so stage 2 samples what it sampled in one process: the same end.
    assert_same_tensors(params(trainer.model), reference["final"])


# -- (d) a resume that does not fit the folders ----------------------------------------------------------------
@pytest.fixture(scope="module")
def after_stage_1(levels: dict[int, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-stage run (1 step a stage) interrupted after stage 1 finished."""
    root = tmp_path_factory.mktemp("after_stage_1") / "run"

    def interrupt(position: int, stage: dict[str, Any]) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        train_curriculum(make_trainer(root, levels), {1: levels[1], 2: levels[2]}, max_steps=1,
                         on_stage_end=interrupt)
    return root


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(("keys", "without_run_marker", "named"), [
    ([1, 3], False, RUN_MARKER),                         # another level
    ([1, 2, 3], False, RUN_MARKER),                      # another number of stages
    ([2, 1], True, STAGE_1),                             # the folders show other keys
    (None, True, STAGE_1),                               # a list of stages: folders stage-1, stage-2
    ([1, 2, 3], True, f"{STAGE_1}/{STAGE_MARKER}"),      # stage.json records 2 stages
])
def test_resume__with_other_stages_names_the_file_or_folder(after_stage_1: Path, levels: dict[int, Any],
                                                             tmp_path: Path, keys: list[int] | None,
                                                             without_run_marker: bool, named: str) -> None:
    root = tmp_path / "run"
    shutil.copytree(after_stage_1, root)
    if without_run_marker:
        (root / RUN_MARKER).unlink()
    before = listing(root)
    stages: Any = [levels[1], levels[2]] if keys is None else {k: levels[min(k, 2)] for k in keys}
    with pytest.raises(ValueError) as info:
        train_curriculum(make_trainer(root, levels), stages, resume=True)
    message = str(info.value)
    assert message.startswith(f"{root / named}: ")
    assert "resume with" in message or "move the folder away" in message
    assert listing(root) == before  # nothing trained, nothing written


def test_fresh_run__refuses_an_output_dir_with_checkpoints(after_stage_1: Path, levels: dict[int, Any]) -> None:
    before = listing(after_stage_1)
    with pytest.raises(ValueError, match=rf"^{after_stage_1 / STAGE_1 / 'checkpoint-1'}: a checkpoint of an earlier "
                                         r"run .*resume=True \(ifverify train --resume\)"):
        train_curriculum(make_trainer(after_stage_1, levels), {1: levels[1], 2: levels[2]})
    with pytest.raises(ValueError, match=rf"^{after_stage_1 / STAGE_1}: a stage folder of a swap run"):
        train_ordered(make_trainer(after_stage_1, levels), {1: levels[1], 2: levels[2]}, resume=True)
    assert listing(after_stage_1) == before


def test_latest_checkpoint__skips_an_incomplete_save(tmp_path: Path) -> None:
    for name, complete in [("checkpoint-2", True), ("checkpoint-10", True), ("checkpoint-11", False)]:
        (tmp_path / name).mkdir()
        if complete:
            (tmp_path / name / "trainer_state.json").write_text("{}", encoding="utf-8")
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-10"  # by step, not by name; 11 was cut off
    assert latest_checkpoint(tmp_path / "missing") is None


# -- ordered mode -------------------------------------------------------------------------------------------
def test_ordered__resumes_from_the_latest_checkpoint(levels: dict[int, Any], tmp_path: Path) -> None:
    stages = {1: levels[1], 2: levels[2]}
    reference = make_trainer(tmp_path / "reference", levels, shuffle_dataset=False)
    train_ordered(reference, stages, max_steps=4)
    root = tmp_path / "run"
    with pytest.raises(Interrupted):
        train_ordered(make_trainer(root, levels, shuffle_dataset=False, callbacks=[stop_after_save("run", 3)]),
                      stages, max_steps=4)
    assert checkpoints(root) == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    trainer = make_trainer(root, levels, shuffle_dataset=False)
    [info] = train_ordered(trainer, stages, max_steps=4, resume=True)
    assert (info["resumed"], info["resumed_from"], info["global_step"]) == ("checkpoint", str(root / "checkpoint-3"), 4)
    assert_same_tensors(params(trainer.model), params(reference.model))
    assert differs(saved_params(root / "checkpoint-3"), saved_params(root / "checkpoint-4"))


# -- (e) `ifverify train --resume` --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, tokenizer = tiny_model_and_tokenizer()
    folder = tmp_path_factory.mktemp("tiny_policy")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def cli(*args: str) -> Any:
    import click
    from click.testing import CliRunner

    from ifverify.cli.train import train

    group = click.Group()
    group.add_command(train)
    return CliRunner().invoke(group, ["train", *args])


DRY_RUN = """
import sys, click
from click.testing import CliRunner
from ifverify.cli.train import train
group = click.Group(); group.add_command(train)
result = CliRunner().invoke(group, ["train", "--config", sys.argv[1], "--dry-run", "--resume"])
print(result.output)
print("EXIT", result.exit_code)
print("HEAVY", sorted(m for m in ("torch", "trl", "datasets", "transformers") if m in sys.modules))
"""


def test_cli__resume_skips_the_finished_level_and_continues_the_next(tiny_policy: Path, tmp_path: Path) -> None:
    # "At least 2 words" splits the tiny policy's groups of 4 completions, so the steps have gradients.
    at_least_2_words = [{"id": "length.words", "params": {"relation": "at least", "num_words": 2}}]
    write_rows([{"prompt": f"Say something ({level}.{i}).", "constraints": at_least_2_words, "level": level}
                for level in (1, 2) for i in range(2)], tmp_path / "cur.jsonl")
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent(f"""
        backend: trl
        policy: {{model: {tiny_policy}}}
        curriculum: {{data: cur.jsonl, levels: [1, 2], steps_per_level: [1, 2], mode: swap}}
        generation: {{max_completion_length: 8}}
        trainer: {{num_generations: 4, per_device_train_batch_size: 4, learning_rate: 1.0e-3, output_dir: out,
                   save_steps: 1}}
        trl: {{use_cpu: true, bf16: false, use_vllm: false}}
    """), encoding="utf-8")
    out = tmp_path / "out"
    first = cli("--config", str(config))
    assert first.exit_code == 0, first.output
    full_run_end = saved_params(out / STAGE_2 / "checkpoint-2")
    assert differs(saved_params(out / STAGE_2 / "checkpoint-1"), full_run_end)  # stage 2's step 2 trained
    # What an interruption right after stage 2's first checkpoint leaves behind:
    shutil.rmtree(out / STAGE_2 / "checkpoint-2")
    (out / STAGE_2 / STAGE_MARKER).unlink()
    stage_1_weights = out / STAGE_1 / "checkpoint-1" / "model.safetensors"
    written = stage_1_weights.stat().st_mtime_ns

    again = cli("--config", str(config))  # without --resume: refused, nothing trained
    assert again.exit_code == 1
    assert f"{out / STAGE_1 / 'checkpoint-1'}: a checkpoint of an earlier run" in again.output
    assert "--resume" in again.output and "Traceback" not in again.output

    dry = subprocess.run([sys.executable, "-c", DRY_RUN, str(config)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert "EXIT 0" in dry.stdout and "HEAVY []" in dry.stdout, dry.stdout + dry.stderr
    assert f"checkpoints: {out}/: {STAGE_1} (L1), {STAGE_2} (L2)" in dry.stdout
    assert (f"resume: skip {STAGE_1} (finished at step 1, checkpoint-1); continue {STAGE_2} from its checkpoint-1"
            in dry.stdout)

    resumed = cli("--config", str(config), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert ("resumed: stage 1 (L1) skipped, finished earlier; stage 2 (L2) continued from checkpoint-1"
            in resumed.output)
    assert stage_1_weights.stat().st_mtime_ns == written
    assert checkpoints(out / STAGE_2) == ["checkpoint-1", "checkpoint-2"]
    assert_same_tensors(saved_params(out / STAGE_2 / "checkpoint-2"), full_run_end)
    summary = json.loads((out / "train_summary.json").read_text(encoding="utf-8"))
    assert [(r["stage"], r["level"], r["step"], r["global_step"]) for r in summary["steps"]] == [
        (1, 1, 1, 1), (2, 2, 1, 2), (2, 2, 2, 3)]
    assert summary["resume"] is True
    assert [s["resumed"] for s in summary["stage_runs"]] == ["skipped", "checkpoint"]


def test_cli__resume_is_a_config_error_for_openrlhf(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("backend: openrlhf\npolicy: {model: some/model}\ncurriculum: {data: cur.jsonl}\n",
                      encoding="utf-8")
    result = cli("--config", str(config), "--dry-run", "--resume")
    assert result.exit_code == 2 and f"{config}: trainer.resume: only the trl backend resumes" in result.output
    config.write_text(config.read_text(encoding="utf-8") + "trainer: {resume: true}\n", encoding="utf-8")
    assert cli("--config", str(config), "--dry-run").exit_code == 2
