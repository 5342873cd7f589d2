"""The whole self-supervised pipeline, small, with the real packaged models (SmolLM2 and MiniLM)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.mark.slow
def test_pipeline__seeds_to_classifier_evaluated_against_checker_truth(tmp_path: Path) -> None:
    from ifverify.models import MissingDependencyError, default_encoder_dir, default_policy_gguf

    try:
        default_encoder_dir()
        default_policy_gguf()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    work = tmp_path / "e2e"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "e2e_pipeline.py"), "--work", str(work),
                           "--train-seeds", "3", "--heldout-seeds", "1", "--max-new-tokens", "24", "--epochs", "1",
                           "--procs", "1"], capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr + (work / "pipeline.log").read_text()
    report = json.loads((work / "report.json").read_text())
    assert report["sizes"]["curriculum_rows"] == 4 * 5
    responses = [json.loads(line) for line in (work / "train_responses.jsonl").read_text().splitlines()]
    assert len(responses) == 3 * 6 and all(isinstance(r.get("response"), str) for r in responses)
    pairs = [json.loads(line) for line in (work / "pairs.jsonl").read_text().splitlines()]
    assert {p["label"] for p in pairs} <= {0, 1} and pairs
    assert report["validate_labels"]["overall"]["positives"] >= 0
    evaluation = report["heldout_eval"]["overall"]
    assert evaluation["n"] == report["sizes"]["heldout_truth_pairs"] > 0
    assert evaluation["balanced_accuracy"] is None or 0.0 <= evaluation["balanced_accuracy"] <= 1.0
    assert (work / "rm" / "ifverify.json").is_file()
