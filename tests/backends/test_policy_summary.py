"""``policy.model`` kinds (packaged, GGUF, folder), their config errors, and the trl training summary."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ifverify.backends.config import PACKAGED_POLICY, ConfigError, load_config, policy_kind
from ifverify.backends.dispatch import describe_policy, plan, render_summary, train_summary, write_summary
from ifverify.cli.train import train

REPO = Path(__file__).resolve().parents[2]


def write(folder: Path, text: str, name: str = "c.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config_text(backend: str, model: str) -> str:
    return f"backend: {backend}\npolicy: {{model: {json.dumps(model)}}}\ncurriculum: {{data: cur.jsonl}}\n"


def cli(*args: str) -> Any:
    group = click.Group()
    group.add_command(train)
    return CliRunner().invoke(group, ["train", *args])


# -- policy.model ----------------------------------------------------------------------------------------
def test_policy_kind__packaged_gguf_and_folder() -> None:
    assert policy_kind(PACKAGED_POLICY) == "packaged"
    assert policy_kind("models/SmolLM2.Q4_1.gguf") == policy_kind("/abs/M.GGUF") == "gguf"
    assert policy_kind("models/SmolLM2-135M-Instruct") == policy_kind("org/model") == "hf"
    with pytest.raises(ValueError, match="unknown packaged policy 'packaged:llama'"):
        policy_kind("packaged:llama")


def test_config__packaged_policy_is_kept_verbatim_and_gguf_paths_resolve(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, config_text("trl", PACKAGED_POLICY))).policy["model"] == PACKAGED_POLICY
    (tmp_path / "m.gguf").write_bytes(b"")
    assert load_config(write(tmp_path, config_text("trl", "m.gguf"))).policy["model"] == str(tmp_path / "m.gguf")


@pytest.mark.parametrize("backend", ["openrlhf", "verl"])
@pytest.mark.parametrize(("model", "what"), [(PACKAGED_POLICY, "the packaged GGUF policy"),
                                             ("models/policy.gguf", "a GGUF file")])
def test_config__gguf_policy_is_an_error_for_openrlhf_and_verl(tmp_path: Path, backend: str, model: str,
                                                               what: str) -> None:
    path = write(tmp_path, config_text(backend, model))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: policy.model: {model!r} is {what}")
    assert f"the {backend} backend cannot load" in message and "\n" not in message
    result = cli("--config", str(path), "--dry-run")
    assert result.exit_code == 2 and "policy.model" in result.output and "Traceback" not in result.output


def test_config__unknown_packaged_name_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, config_text("trl", "packaged:smollm2-1.7b"))
    with pytest.raises(ConfigError, match=r"policy\.model: unknown packaged policy .*known: packaged:smollm2-135m"):
        load_config(path)


def test_plan__rechecks_the_policy_for_openrlhf_and_verl(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, config_text("trl", PACKAGED_POLICY)))
    assert plan(config).backend == "trl"
    config.backend = "verl"  # a Config built or changed in code, past load_config's check
    with pytest.raises(ConfigError, match="policy.model: 'packaged:smollm2-135m-instruct' is the packaged GGUF"):
        plan(config)


def test_dry_run__names_the_packaged_gguf_file(tmp_path: Path) -> None:
    path = write(tmp_path, config_text("trl", PACKAGED_POLICY))
    result = cli("--config", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    policy_line = next(line for line in result.output.splitlines() if line.startswith("policy: "))
    assert policy_line.startswith(f"policy: {PACKAGED_POLICY} (the packaged SmolLM2-135M-Instruct GGUF")
    try:
        from ifverify.models import default_policy_gguf

        folder, name = default_policy_gguf()
    except ImportError:
        assert "NOT INSTALLED" in policy_line
    else:
        assert str(folder / name) in policy_line
    assert describe_policy("org/model") == "org/model"
    assert "train_summary.json" in result.output


# -- the training summary --------------------------------------------------------------------------------
def log_entry(step: int, reward: float, rates: dict[str, float], name: str = "ifverify_mean_strict") -> dict[str, Any]:
    """A ``log_history`` entry of a GRPO step, with the keys TRL 1.16 logs (values as given)."""
    return {"loss": 0.0, "grad_norm": 0.1, "learning_rate": 1e-5, "num_tokens": 774.0,
            "completions/mean_length": 8.0, "completions/clipped_ratio": 1.0,
            f"rewards/{name}/mean": reward, f"rewards/{name}/std": 0.25, "reward": reward, "reward_std": 0.25,
            "frac_reward_zero_std": 0.0, f"ifverify/{name}/failures": 0.0,
            **{f"ifverify/pass_rate/{cid}": rate for cid, rate in rates.items()},
            "entropy": 5.5, "step_time": 0.05, "epoch": float(step), "step": step}


def end_entry(step: int) -> dict[str, Any]:
    """The entry a Trainer appends when ``train()`` ends (no reward)."""
    return {"train_runtime": 0.2, "train_samples_per_second": 37.4, "train_steps_per_second": 9.3,
            "total_flos": 0.0, "train_loss": 0.0, "epoch": 2.0, "step": step}


def test_train_summary__rows_offsets_and_level_trend() -> None:
    first = [log_entry(1, 0.2, {"punctuation.no_comma": 0.5, "soft.tone": 0.0}),
             log_entry(2, 0.6, {"punctuation.no_comma": 1.0}), end_entry(2)]
    second = [log_entry(1, 0.4, {"soft.tone": 0.5}), log_entry(2, float("nan"), {}), log_entry(3, 0.8, {}),
              end_entry(3)]
    summary = train_summary([first, second], [1, 2], wall_seconds=12.345, policy="p", mode="swap")
    assert summary["wall_seconds"] == 12.35 and summary["policy"] == "p" and summary["total_steps"] == 5
    steps = summary["steps"]
    assert [(r["stage"], r["level"], r["step"], r["global_step"]) for r in steps] == [
        (1, 1, 1, 1), (1, 1, 2, 2), (2, 2, 1, 3), (2, 2, 2, 4), (2, 2, 3, 5)]
    assert [r["reward"] for r in steps] == [0.2, 0.6, 0.4, None, 0.8]  # NaN becomes None (JSON has no NaN)
    assert steps[0]["rewards"] == {"ifverify_mean_strict": 0.2} and steps[0]["reward_std"] == 0.25
    assert steps[0]["pass_rates"] == {"punctuation.no_comma": 0.5, "soft.tone": 0.0}
    assert steps[0]["completion_length"] == 8.0
    level1, level2 = summary["levels"]
    assert (level1["level"], level1["steps"], level1["reward_first"], level1["reward_last"]) == (1, 2, 0.2, 0.6)
    assert level1["reward_mean"] == pytest.approx(0.4)
    assert level1["pass_rates"] == {"punctuation.no_comma": 0.75, "soft.tone": 0.0}
    assert level2["reward_mean"] == pytest.approx(0.6) and level2["reward_last"] == 0.8
    json.dumps(summary, allow_nan=False)  # strict JSON


def test_render_and_write_summary(tmp_path: Path) -> None:
    summary = train_summary([[log_entry(1, 0.25, {"soft.tone": 1.0}), end_entry(1)]], [None], wall_seconds=3.0,
                            setup_seconds=1.5)
    text = render_summary(summary)
    assert "trained 1 steps in 1 stage(s); wall time 3.0 s (setup 1.5 s" in text
    assert any(line.split()[:5] == ["1", "-", "1", "1", "0.250"] and "soft.tone 1.00" in line
               for line in text.splitlines())
    assert "stage 1 (ordered pass): 0.250 -> 0.250, mean 0.250 over 1 steps" in text
    path = write_summary(summary, tmp_path / "new" / "dir")
    assert path == tmp_path / "new" / "dir" / "train_summary.json"
    assert json.loads(path.read_text(encoding="utf-8")) == summary


# -- a real GRPOTrainer run through `ifverify train`, with a tiny policy folder ------------------------------
@pytest.fixture(scope="module")
def tiny_policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("trl")
    from test_trl import tiny_model_and_tokenizer

    model, tokenizer = tiny_model_and_tokenizer()
    folder = tmp_path_factory.mktemp("tiny_policy")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("mode", ["swap", "ordered"])
def test_train__tiny_policy_folder_prints_and_writes_the_summary(tiny_policy_dir: Path, tmp_path: Path,
                                                                 mode: str) -> None:
    from ifverify.data.curriculum import build_curriculum, load_bundled_seeds, write_rows

    rows = build_curriculum(load_bundled_seeds()[:2], n_constraints=2, soft_ratio=0,
                            hard_ids=["punctuation.no_comma", "length.words"])
    write_rows(rows, tmp_path / "cur.jsonl")
    path = write(tmp_path, f"""
        backend: trl
        policy: {{model: {tiny_policy_dir}}}
        curriculum: {{data: cur.jsonl, levels: [1, 2], steps_per_level: [1, 2], mode: {mode}}}
        generation: {{max_completion_length: 8}}
        trainer: {{num_generations: 2, per_device_train_batch_size: 4, learning_rate: 1.0e-3, output_dir: out}}
        trl: {{use_cpu: true, bf16: false, use_vllm: false, save_strategy: "no"}}
    """)
    result = cli("--config", str(path))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text(encoding="utf-8"))
    steps = summary["steps"]
    assert [r["global_step"] for r in steps] == [1, 2, 3] and summary["total_steps"] == 3
    if mode == "swap":
        assert [(r["stage"], r["level"], r["step"]) for r in steps] == [(1, 1, 1), (2, 2, 1), (2, 2, 2)]
        assert [lvl["level"] for lvl in summary["levels"]] == [1, 2]
    else:
        assert [(r["stage"], r["level"]) for r in steps] == [(1, None)] * 3
    for row in steps:
        assert 0.0 <= row["reward"] <= 1.0 and row["rewards"]["ifverify_mean_strict"] == row["reward"]
        assert set(row["pass_rates"]) <= {"punctuation.no_comma", "length.words"} and row["pass_rates"]
    assert summary["wall_seconds"] >= summary["setup_seconds"] > 0
    assert "reward per stage (first step -> last step, mean):" in result.output
    assert f"wrote {tmp_path / 'out' / 'train_summary.json'}" in result.output
    assert not math.isnan(summary["levels"][0]["reward_mean"])
