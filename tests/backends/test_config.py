"""The train config (schema, defaults, paths), the dispatch plans and ``ifverify train --dry-run``."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from ifverify.backends.config import ConfigError, load_config
from ifverify.backends.dispatch import grpo_kwargs, plan
from ifverify.cli.train import train

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "examples" / "configs"
BACKENDS_DIR = REPO / "ifverify" / "backends"

MINIMAL = """
backend: trl
policy: {model: some/model}
curriculum: {data: cur.jsonl}
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_wrong_type_names_the_key_path(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL + "trainer: {learning_rate: fast}\n")
    assert "trainer.learning_rate" in message and "expected number" in message and "'fast'" in message


def test_unknown_backend_lists_the_allowed_values(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace("backend: trl", "backend: deepspeed"))
    assert "backend: expected one of trl, openrlhf, verl, got 'deepspeed'" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, "backend: trl\npolicy: {}\ncurriculum: {data: x.jsonl}\n")
    assert "policy.model: required key is missing" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL + "optimiser: adam\n")
    assert "optimiser: unknown key (allowed:" in message and "trainer" in message


def test_nested_wrong_type_and_cross_key_rules(tmp_path: Path) -> None:
    assert "curriculum.levels.1: expected integer" in error_of(
        tmp_path, MINIMAL.replace("{data: cur.jsonl}", "{data: cur.jsonl, levels: [1, two]}"))
    assert "curriculum.steps_per_level: expected 5 entries" in error_of(
        tmp_path, MINIMAL.replace("{data: cur.jsonl}", "{data: cur.jsonl, steps_per_level: [1, 2]}"))
    assert "reward.weights: required" in error_of(tmp_path, MINIMAL + "reward: {aggregation: weighted}\n")
    assert "<top level>: expected a mapping" in error_of(tmp_path, "- just a list\n")


def test_unreadable_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    assert "invalid YAML" in error_of(tmp_path, "backend: [trl\n")


def test_defaults_are_the_papers(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.trainer["num_generations"] == 5
    assert config.trainer["learning_rate"] == 1e-6
    assert config.trainer["kl_coef"] == 0.0
    assert config.curriculum["levels"] == [1, 2, 3, 4, 5] and config.curriculum["mode"] == "swap"
    assert config.curriculum["epochs_per_level"] == 1.0
    assert config.reward == {"aggregation": "mean", "mode": "strict", "classifier": None, "weights": {},
                             "on_error": "none"}
    assert config.generation["max_completion_length"] == 256 and config.generation["temperature"] == 1.0
    kwargs = grpo_kwargs(config)
    assert kwargs["beta"] == 0.0 and kwargs["num_generations"] == 5 and kwargs["learning_rate"] == 1e-6


def test_beta_is_an_alias_of_kl_coef(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL + "trainer: {beta: 0.04}\n")).trainer["kl_coef"] == 0.04
    assert "trainer.beta" in error_of(tmp_path, MINIMAL + "trainer: {beta: 0.04, kl_coef: 0.1}\n")


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "local_model").mkdir()
    path = write(sub, MINIMAL.replace("some/model", "local_model")
                 + "reward: {classifier: ../clf}\ntrainer: {output_dir: out}\n")
    config = load_config(path)
    assert config.curriculum["data"] == str(sub / "cur.jsonl")
    assert config.reward["classifier"] == str(tmp_path / "clf")
    assert config.trainer["output_dir"] == str(sub / "out")
    assert config.policy["model"] == str(sub / "local_model")
    assert load_config(write(sub, MINIMAL, "hub.yaml")).policy["model"] == "some/model"


def _parsed(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIGS / f"{name}.yaml").read_text(encoding="utf-8"))


def test_example_configs_differ_only_in_backend() -> None:
    parsed = {name: _parsed(name) for name in ("trl", "openrlhf", "verl")}
    assert {name: data["backend"] for name, data in parsed.items()} == {"trl": "trl", "openrlhf": "openrlhf",
                                                                      "verl": "verl"}
    stripped = [{k: v for k, v in data.items() if k != "backend"} for data in parsed.values()]
    assert stripped[0] == stripped[1] == stripped[2]
    for name in parsed:
        assert load_config(CONFIGS / f"{name}.yaml").backend == name
    assert (CONFIGS / "curriculum_small.jsonl").exists()


def _group() -> click.Group:
    group = click.Group()
    group.add_command(train)
    return group


def _dry_run(name: str) -> tuple[int, str]:
    result = CliRunner().invoke(_group(), ["train", "--config", str(CONFIGS / f"{name}.yaml"), "--dry-run"])
    return result.exit_code, result.output


def _openrlhf_reward() -> str:
    try:
        from ifverify.backends.openrlhf import reward_file_path
    except ImportError:
        return str(BACKENDS_DIR / "openrlhf.py")
    return str(reward_file_path())


OUT = str(CONFIGS / "runs" / "example")
DATA = str(CONFIGS / "curriculum_small.jsonl")


def test_dry_run_openrlhf_command() -> None:
    config = load_config(CONFIGS / "openrlhf.yaml")
    target = f"{OUT}/data/train.jsonl"
    expected = [
        "python", "-m", "openrlhf.cli.train_ppo_ray",
        "--actor.model_name_or_path", "models/SmolLM2-135M-Instruct",
        "--data.prompt_dataset", target,
        "--data.input_key", "prompt",
        "--data.label_key", "label",
        "--data.max_len", "768",
        "--rollout.max_new_tokens", "256",
        "--rollout.temperature", "1.0",
        "--rollout.n_samples_per_prompt", "5",
        "--reward.remote_url", _openrlhf_reward(),
        "--algo.advantage.estimator", "group_norm",
        "--actor.adam.lr", "1e-06",
        "--algo.kl.init_coef", "0.0",
        "--ckpt.output_dir", OUT,
        "--train.seed", "0",
        "--vllm.num_engines", "1",
        "--actor.num_gpus_per_node", "1",
    ]
    the_plan = plan(config)
    assert the_plan.command == expected
    assert the_plan.conversion == {"format": "openrlhf-jsonl", "source": DATA, "target": target,
                                   "levels": [1, 2, 3, 4, 5]}
    code, output = _dry_run("openrlhf")
    assert code == 0
    assert "command: " + shlex.join(expected) in output.splitlines()
    assert target in output


def test_dry_run_verl_command() -> None:
    target = f"{OUT}/data/train.parquet"
    expected = [
        "python", "-m", "verl.trainer.main_ppo",
        "algorithm.adv_estimator=grpo",
        f"data.train_files={target}",
        f"data.val_files={target}",
        "data.prompt_key=prompt",
        "data.max_prompt_length=512",
        "data.max_response_length=256",
        "data.shuffle=false",
        "actor_rollout_ref.model.path=models/SmolLM2-135M-Instruct",
        "actor_rollout_ref.actor.optim.lr=1e-06",
        "actor_rollout_ref.actor.use_kl_loss=false",
        "actor_rollout_ref.actor.kl_loss_coef=0.0",
        "algorithm.use_kl_in_reward=false",
        "algorithm.kl_ctrl.kl_coef=0.0",
        "actor_rollout_ref.rollout.n=5",
        "actor_rollout_ref.rollout.temperature=1.0",
        f"reward.custom_reward_function.path={BACKENDS_DIR / 'verl.py'}",
        "reward.custom_reward_function.name=compute_score",
        f"trainer.default_local_dir={OUT}",
        "trainer.save_freq=500",
        "trainer.n_gpus_per_node=1",
    ]
    assert plan(load_config(CONFIGS / "verl.yaml")).command == expected
    code, output = _dry_run("verl")
    assert code == 0
    assert "command: " + shlex.join(expected) in output.splitlines()
    assert target in output


def test_dry_run_trl_plan() -> None:
    the_plan = plan(load_config(CONFIGS / "trl.yaml"))
    assert the_plan.command is None and the_plan.conversion is None
    assert the_plan.grpo_kwargs == {
        "output_dir": OUT, "learning_rate": 1e-6, "beta": 0.0, "num_generations": 5,
        "per_device_train_batch_size": 5, "gradient_accumulation_steps": 1, "seed": 0, "logging_steps": 1,
        "save_steps": 500, "max_completion_length": 256, "temperature": 1.0, "report_to": "none",
        "use_cpu": True, "bf16": False, "use_vllm": False,
    }
    assert the_plan.reward_kwargs == {"aggregation": "mean", "mode": "strict", "weights": {},
                                      "classifier": "default", "on_error": "none"}
    assert the_plan.stages == [{"level": level, "max_steps": 2} for level in (1, 2, 3, 4, 5)]
    code, output = _dry_run("trl")
    assert code == 0
    assert "backend: trl" in output and "train_curriculum" in output and '"beta": 0.0' in output


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "trainer: {num_generations: many}\n")
    result = CliRunner().invoke(_group(), ["train", "--config", str(path), "--dry-run"])
    assert result.exit_code == 2
    assert "trainer.num_generations: expected integer" in result.output
    assert "Traceback" not in result.output


def test_dry_run_imports_neither_torch_nor_trl() -> None:
    script = textwrap.dedent(f"""
        import sys, click
        from click.testing import CliRunner
        from ifverify.cli.train import train
        group = click.Group(); group.add_command(train)
        for name in ("trl", "openrlhf", "verl"):
            result = CliRunner().invoke(group, ["train", "--config", {str(CONFIGS)!r} + f"/{{name}}.yaml",
                                                "--dry-run"])
            assert result.exit_code == 0, result.output
        heavy = sorted(m for m in ("torch", "trl", "datasets", "transformers") if m in sys.modules)
        print("HEAVY", heavy)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout


def test_missing_backend_package_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from ifverify.backends import dispatch

    def unavailable(p: dispatch.Plan) -> None:
        raise dispatch.BackendUnavailable('the verl backend needs verl.trainer.main_ppo: pip install "ifverify[verl]"')

    monkeypatch.setattr(dispatch, "run", unavailable)
    result = CliRunner().invoke(_group(), ["train", "--config", str(CONFIGS / "verl.yaml")])
    assert result.exit_code == 1
    assert 'pip install "ifverify[verl]"' in result.output and "Traceback" not in result.output


# -- data that needs a classifier, and the reward block on every backend (issue 11) ----------------------
SOFT_ROW = {"level": 1, "prompt": "Tell a story.", "constraints": [{"id": "punctuation.no_comma"},
                                                                    {"id": "soft.tone", "text": "Be calm."}]}
HARD_ROW = {"level": 1, "prompt": "Say hi.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def _with_data(tmp_path: Path, rows: list[dict[str, Any]], extra: str = "") -> str:
    import json

    (tmp_path / "cur.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return MINIMAL.replace("{data: cur.jsonl}", "{data: cur.jsonl, levels: [1]}") + extra


def test_soft_data_without_classifier__fails_at_validation_naming_ids_and_key(tmp_path: Path) -> None:
    text = _with_data(tmp_path, [SOFT_ROW, SOFT_ROW, HARD_ROW, {**SOFT_ROW, "level": 7}])
    message = error_of(tmp_path, text)
    assert message.endswith(
        "reward.classifier: not set, but 2 of 3 rows of curriculum.data (levels [1]) carry soft "
        "constraints: soft.tone (2); set reward.classifier to default (the packaged soft verifier), a saved "
        "classifier folder or judge:<url>, or train on hard constraints only")


def test_soft_data_without_classifier__dry_run_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, _with_data(tmp_path, [SOFT_ROW]))
    result = CliRunner().invoke(_group(), ["train", "--config", str(path), "--dry-run"])
    assert result.exit_code == 2 and "reward.classifier: not set" in result.output


def test_hard_only_data__needs_no_classifier(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, _with_data(tmp_path, [HARD_ROW]))).reward["classifier"] is None


@pytest.mark.parametrize("spec", ["default", "judge:http://127.0.0.1:8000/v1?model=m"])
def test_classifier_specs__are_kept_as_written_not_resolved_as_paths(tmp_path: Path, spec: str) -> None:
    config = load_config(write(tmp_path, _with_data(tmp_path, [SOFT_ROW], f"reward: {{classifier: '{spec}'}}\n")))
    assert config.reward["classifier"] == spec


def test_classifier_folder__is_resolved_against_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, _with_data(tmp_path, [SOFT_ROW], "reward: {classifier: clf}\n")))
    assert config.reward["classifier"] == str(tmp_path / "clf")


@pytest.mark.parametrize("backend", ["openrlhf", "verl"])
def test_reward_block__reaches_openrlhf_and_verl_as_environment(tmp_path: Path, backend: str) -> None:
    extra = ("reward: {aggregation: weighted, mode: loose, weights: {soft: 0.5, hard: 1}, classifier: default, "
             "threshold: 0.7}\n")
    path = write(tmp_path, _with_data(tmp_path, [SOFT_ROW], extra).replace("backend: trl", f"backend: {backend}"))
    the_plan = plan(load_config(path))
    assert the_plan.env == {"IFVERIFY_AGGREGATION": "weighted", "IFVERIFY_CLASSIFIER": "default",
                            "IFVERIFY_MODE": "loose", "IFVERIFY_THRESHOLD": "0.7",
                            "IFVERIFY_WEIGHTS": '{"hard": 1, "soft": 0.5}'}
    assert ("env: IFVERIFY_AGGREGATION=weighted IFVERIFY_CLASSIFIER=default IFVERIFY_MODE=loose "
            "IFVERIFY_THRESHOLD=0.7 IFVERIFY_WEIGHTS='{\"hard\": 1, \"soft\": 0.5}'") in the_plan.summary().splitlines()


def test_reward_env__builds_the_same_reward_in_the_trainers_process() -> None:
    from ifverify.backends.reward_env import ENV_HINT, reward_env, reward_from_env

    env = reward_env({"aggregation": "all", "mode": "loose", "weights": {}, "classifier": None, "threshold": 0.3})
    reward = reward_from_env("r", env)
    assert (reward.aggregation, reward.mode, reward.threshold, reward.on_error) == ("all", "loose", 0.3, "zero")
    assert reward.classifier_hint == ENV_HINT
    with pytest.raises(ValueError, match="IFVERIFY_THRESHOLD: not a number: 'high'"):
        reward_from_env("r", {"IFVERIFY_THRESHOLD": "high"})


def test_run__passes_the_reward_environment_to_the_trainer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ifverify.backends import dispatch

    (tmp_path / "policy").mkdir()  # a local checkpoint folder (run checks that it exists)
    path = write(tmp_path, _with_data(tmp_path, [SOFT_ROW], "reward: {classifier: default, aggregation: all}\n")
                 .replace("backend: trl", "backend: openrlhf").replace("some/model", "./policy"))
    the_plan = plan(load_config(path))
    seen: dict[str, Any] = {}
    monkeypatch.setattr(dispatch, "require_backend", lambda backend: None)
    monkeypatch.setattr(dispatch.subprocess, "call", lambda argv, env: seen.update(argv=argv, env=env) or 0)
    assert dispatch.run(the_plan) == 0
    assert seen["env"]["IFVERIFY_AGGREGATION"] == "all" and seen["env"]["IFVERIFY_CLASSIFIER"] == "default"


@pytest.mark.parametrize("backend", ["openrlhf", "verl"])
def test_on_error_none__is_refused_where_the_reward_must_be_a_number(tmp_path: Path, backend: str) -> None:
    text = MINIMAL.replace("backend: trl", f"backend: {backend}") + "reward: {on_error: none}\n"
    message = error_of(tmp_path, text)
    assert message.endswith(f"reward.on_error: {backend}'s reward scores a sample that cannot be scored 0.0 (the "
                            "trainer needs a number for every sample); remove the key or set zero")
    zero = MINIMAL.replace("backend: trl", f"backend: {backend}") + "reward: {on_error: zero}\n"
    assert load_config(write(tmp_path, zero, "zero.yaml")).reward["on_error"] == "zero"
