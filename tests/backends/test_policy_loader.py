"""The public policy loader (ifverify.models.load_policy) and its errors (issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifverify.cli import cli
from ifverify.models import load_policy

REPO = Path(__file__).resolve().parents[2]


def test_missing_policy_folder__says_the_folder_does_not_exist(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        load_policy("models/SmolLM2-135M-Instruct")
    message = str(info.value)
    assert message.startswith(f"models/SmolLM2-135M-Instruct: no such model folder "
                              f"({tmp_path / 'models' / 'SmolLM2-135M-Instruct'} does not exist)")
    assert "packaged:smollm2-135m-instruct" in message
    assert "connect" not in message.lower() and "huggingface.co" not in message


def test_train_with_the_placeholder_policy__exits_1_naming_policy_model(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cur.jsonl").write_text('{"level": 1, "prompt": "Say hi.", "constraints": '
                                        '[{"id": "punctuation.no_comma"}]}\n', encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent("""
        backend: trl
        policy: {model: models/SmolLM2-135M-Instruct}
        curriculum: {data: cur.jsonl, levels: [1], steps_per_level: 1}
        trainer: {output_dir: out}
    """), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["train", "--config", str(config)])
    assert result.exit_code == 1
    assert ("Error: FileNotFoundError: policy.model: models/SmolLM2-135M-Instruct: no such model folder "
            in result.output)
    assert "Traceback" not in result.output


def _own_script_block() -> str:
    """The TRL-script example of docs/rewards.md (its ```python notest block after the fine-tuning heading)."""
    page = (REPO / "docs" / "rewards.md").read_text(encoding="utf-8")
    section = page.split("## Fine-tuning the packaged SmolLM2 in your own TRL script", 1)[1]
    return section.split("```python notest\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_load_policy__the_packaged_smollm2_fine_tunes_in_a_users_own_trl_script(tmp_path: Path) -> None:
    code = _own_script_block() + "print('TRAINED', trainer.state.global_step)\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TRAINED 1" in done.stdout


@pytest.mark.parametrize("backend", ["openrlhf", "verl"])
def test_openrlhf_and_verl__a_missing_policy_folder_stops_before_the_trainer(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ifverify.backends import dispatch
    from ifverify.backends.config import load_config

    row = '{"level": 1, "prompt": "Hi.", "constraints": [{"id": "punctuation.no_comma"}]}\n'
    (tmp_path / "cur.jsonl").write_text(row, encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"backend: {backend}\npolicy: {{model: models/SmolLM2-135M-Instruct}}\n"
                      "curriculum: {data: cur.jsonl, levels: [1]}\ntrainer: {output_dir: out}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dispatch, "require_backend", lambda name: None)
    monkeypatch.setattr(dispatch.subprocess, "call", lambda *a, **k: pytest.fail("the trainer must not start"))
    with pytest.raises(FileNotFoundError, match=r"^policy\.model: models/SmolLM2-135M-Instruct: no such model folder"):
        dispatch.run(dispatch.plan(load_config(config)))
    assert not (tmp_path / "out").exists()
