"""The CPU demo in examples/demo/: its files agree with each other, and (slow) it runs end to end, shrunk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ifverify.backends.config import PACKAGED_POLICY, load_config

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo"
CONFIG = DEMO / "smollm2_grpo.yaml"


def test_demo__config_names_the_packaged_policy_and_the_packaged_soft_verifier() -> None:
    config = load_config(CONFIG)
    assert config.backend == "trl" and config.policy["model"] == PACKAGED_POLICY
    assert config.reward["classifier"] == "default"
    assert config.trainer["num_generations"] == 5
    script = (DEMO / "run.sh").read_text(encoding="utf-8")
    assert "rm train" not in script and '--config "$here/smollm2_grpo.yaml"' in script


def test_demo__curriculum_mixes_hard_and_soft_on_every_level() -> None:
    config = load_config(CONFIG)
    ids: dict[int, set[str]] = {level: set() for level in config.curriculum["levels"]}
    for line in Path(config.curriculum["data"]).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["level"] in ids:
            ids[row["level"]] |= {spec["id"] for spec in row["constraints"]}
    for level, found in ids.items():
        assert any(i.startswith("soft.") for i in found) and any(not i.startswith("soft.") for i in found), level


def test_demo__pairs_are_rm_train_input() -> None:
    from ifverify.learned.training import read_pairs

    path = DEMO / "pairs.jsonl"
    assert path.stat().st_size < 400_000
    pairs = read_pairs(path)
    assert 300 <= len(pairs) <= 400
    assert {p.label for p in pairs} == {0, 1}


# -- the demo, shrunk: 1 step per level, 16-token completions, the packaged soft verifier -------------------
@pytest.mark.slow
def test_demo__runs_end_to_end_with_hard_and_soft_rewards(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    pytest.importorskip("gguf")
    from ifverify.models import MissingDependencyError, default_encoder_dir, default_policy_gguf

    try:
        default_encoder_dir()
        default_policy_gguf()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["curriculum"]["data"] = str((DEMO / data["curriculum"]["data"]).resolve())
    data["curriculum"]["steps_per_level"] = 1
    data["generation"]["max_completion_length"] = 16
    data["trainer"]["output_dir"] = str(tmp_path / "grpo")
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "ifverify", "train", "--config", str(config)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    summary = json.loads((tmp_path / "grpo" / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["policy"] == PACKAGED_POLICY and summary["total_steps"] == 3
    assert [(s["level"], s["global_step"]) for s in summary["steps"]] == [(1, 1), (2, 2), (3, 3)]
    assert [s["level"] for s in summary["levels"]] == [1, 2, 3]
    for step in summary["steps"]:
        assert 0.0 <= step["reward"] <= 1.0 and 0 < step["completion_length"] <= 16
    scored = {cid for step in summary["steps"] for cid in step["pass_rates"]}
    assert any(cid.startswith("soft.") for cid in scored), scored  # the soft verifier gave soft verdicts
    assert any(not cid.startswith("soft.") for cid in scored), scored  # and the checkers hard ones
    assert "reward per stage (first step -> last step, mean):" in done.stdout
    assert not list((tmp_path / "grpo").glob("checkpoint-*"))  # the demo's save_strategy: "no"
