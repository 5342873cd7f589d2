"""`ifverify check --classifier` and `Reward(classifier=path)` score soft constraints with a saved classifier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from test_classifier import build_tiny_model  # noqa: E402

from ifverify.cli import cli  # noqa: E402
from ifverify.learned.classifier import SoftClassifier, clear_shared_classifiers  # noqa: E402
from ifverify.rewards.reward import Reward  # noqa: E402

ROWS = [
    {"prompt": "p1", "response": "the cat and the dog",
     "constraints": [{"id": "soft.tone", "text": "Use a formal tone."}, {"id": "punctuation.no_comma"}]},
    {"prompt": "p2", "response": "a story about the moon, for children",
     "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny"), init=0.5)
    out = tmp_path_factory.mktemp("saved") / "classifier"
    SoftClassifier.load(folder, threads=1, max_length=64).save(out)
    return out


def test_check__soft_constraints_scored_with_the_classifier(tmp_path: Path, saved: Path) -> None:
    clear_shared_classifiers()
    data, results = tmp_path / "rows.jsonl", tmp_path / "results.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    result = CliRunner().invoke(cli, ["check", str(data), "--classifier", str(saved), "--results", str(results),
                                      "--mode", "strict"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in results.read_text().splitlines()]
    soft = records[0]["details"][0]
    expected = SoftClassifier.load(saved).score_pairs([("Use a formal tone.", "the cat and the dog")])[0]
    assert soft["id"] == "soft.tone" and soft["score"] == pytest.approx(expected, abs=1e-6)
    assert soft["strict"] is (expected >= 0.5)
    assert records[0]["follow_instruction_list"] == [expected >= 0.5, True]
    assert records[1]["follow_instruction_list"] == [False]


def test_check__soft_constraint_without_classifier_is_unscored_not_an_error(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps(ROWS[0]) + "\n")
    result = CliRunner().invoke(cli, ["check", str(data), "--format", "json"])
    assert result.exit_code == 0 and result.stderr == ""
    summary = json.loads(result.stdout)
    assert summary["errors"] == 0 and summary["unscored"] == 1
    assert summary["instruction_level"]["strict"] == {"accuracy": 1.0, "passed": 1, "total": 1}


def test_check__broken_classifier_folder_is_a_one_line_error(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps(ROWS[1]) + "\n")
    result = CliRunner().invoke(cli, ["check", str(data), "--classifier", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot load --classifier {tmp_path}: ")


def test_reward__classifier_by_path_mixes_hard_and_soft(saved: Path) -> None:
    clear_shared_classifiers()
    reward = Reward(classifier=str(saved))
    [score] = reward(prompts=["p"], completions=["the cat and the dog"], constraints=[ROWS[0]["constraints"]])
    expected = SoftClassifier.load(saved).score_pairs([("Use a formal tone.", "the cat and the dog")])[0]
    assert score == pytest.approx((expected + 1.0) / 2, abs=1e-6)
