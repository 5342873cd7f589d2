"""Classifier training and evaluation: data rules, metrics against hand-computed values, training, resume, CLI."""

from __future__ import annotations

import json
import math
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from test_classifier import build_tiny_model  # noqa: E402

from ifverify.cli.rm import rm  # noqa: E402
from ifverify.learned.classifier import METADATA_FILE, SoftClassifier  # noqa: E402
from ifverify.learned.training import (  # noqa: E402
    DataError,
    LabelledPair,
    calibration,
    evaluate,
    evaluate_scores,
    kendall_tau_b,
    read_pairs,
    roc_auc,
    split_pairs,
    train,
)

TOPICS = {"animals": ["cat", "dog"], "colours": ["blue", "red", "green"], "nature": ["sun", "moon", "tree", "river"]}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def topic_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Separable pairs: 'write about T' is satisfied iff the response's words come from topic T."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = rng.choice(sorted(TOPICS))
        other = rng.choice([t for t in sorted(TOPICS) if t != topic])
        words = TOPICS[topic if i % 2 else other]
        rows.append({"constraint_text": f"write about {topic}", "response": " ".join(rng.choice(words) for _ in
                     range(4)), "label": i % 2, "id": i})
    return rows


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("base") / "model")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, base_dir: Path) -> tuple[Path, Path, Any]:
    folder = tmp_path_factory.mktemp("trained")
    data = write_jsonl(folder / "topics.jsonl", topic_rows(400))
    report = train(data, folder / "out", base=base_dir, epochs=20, lr=1e-3, batch_size=16, max_length=32,
                   eval_fraction=0.25, checkpoint_every=0, progress=False, train_layers=None, patience=20)
    return data, folder / "out", report


# -- data -----------------------------------------------------------------------------------------------------
def test_read_pairs__accepts_bool_and_float_labels_and_ignores_other_fields(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"constraint_text": "c", "response": "r", "label": True, "x": 1}, "",
                                              {"constraint_text": "c", "response": "", "label": 0.0}])
    assert read_pairs(path) == [LabelledPair(1, "c", "r", 1), LabelledPair(3, "c", "", 0)]


def test_read_pairs__names_every_bad_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"constraint_text": "c", "response": "r", "label": 1}, "{not json", [1, 2],
        {"response": "r", "label": 1}, {"constraint_text": "c", "response": 3, "label": 1},
        {"constraint_text": "c", "response": "r", "label": "yes"}, {"constraint_text": "c", "response": "r"}])
    with pytest.raises(DataError) as caught:
        read_pairs(path)
    message = str(caught.value)
    assert "6 bad line(s)" in message
    for expected in ("line 2: (json): not valid JSON", "line 3: (json): expected a JSON object, got list",
                     "line 4: constraint_text: missing or not a string", "line 5: response: missing or not a string",
                     "line 6: label: expected 0/1 or true/false, got 'yes'", "line 7: label:"):
        assert expected in message


def test_read_pairs__bad_utf8_and_many_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"constraint_text": "\xff", "response": "r", "label": 1}\n' + b"[]\n" * 12)
    with pytest.raises(DataError, match=r"13 bad line\(s\): line 1: \(encoding\): not valid UTF-8 .*; and 3 more$"):
        read_pairs(path)
    with pytest.raises(DataError, match="no labelled pairs"):
        read_pairs(write_jsonl(tmp_path / "empty.jsonl", ["", "  "]))


def test_split_pairs__stable_by_content_and_seed() -> None:
    pairs = [LabelledPair(i, f"c{i % 7}", f"r{i}", i % 2) for i in range(1000)]
    train_part, held_out = split_pairs(pairs, 0.2, seed=0)
    assert 150 < len(held_out) < 250 and len(train_part) + len(held_out) == 1000
    again = split_pairs(list(reversed(pairs)), 0.2, seed=0)[1]
    assert {p.line for p in again} == {p.line for p in held_out}
    assert {p.line for p in split_pairs(pairs, 0.2, seed=1)[1]} != {p.line for p in held_out}
    assert split_pairs(pairs, 0.0, seed=0)[1] == []


# -- metrics --------------------------------------------------------------------------------------------------
def test_roc_auc__hand_computed_with_ties() -> None:
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # positives {0.5, 0.9} vs negatives {0.5, 0.2}: 0.5 (tie) + 1 + 1 + 1 = 3.5 of 4
    assert roc_auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]) == pytest.approx(0.875)
    assert roc_auc([0.3, 0.3, 0.3], [1, 0, 1]) == pytest.approx(0.5)
    assert roc_auc([0.1, 0.2], [1, 1]) is None


def test_kendall_tau_b__hand_computed_with_ties() -> None:
    # n0 = 6, one pair tied in x, 1 + 1 pairs tied in y; C - D over the 4 mixed-label pairs = 0 + 1 + 1 + 1
    assert kendall_tau_b([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]) == pytest.approx(3 / math.sqrt((6 - 1) * (6 - 2)))
    assert kendall_tau_b([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert kendall_tau_b([0.1, 0.2, 0.3], [1, 1, 1]) is None
    assert kendall_tau_b([0.4], [1]) is None


def test_kendall_tau_b__matches_scipy_when_installed() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    x = [rng.choice([0.1, 0.2, 0.3, 0.5, 0.9]) for _ in range(200)]
    y = [rng.randrange(2) for _ in range(200)]
    assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_calibration__ten_bins_with_one_in_the_last() -> None:
    bins = calibration([0.05, 0.15, 0.15, 0.95, 1.0], [0, 1, 0, 1, 1])
    assert [b.count for b in bins] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert (bins[0].mean_predicted, bins[0].observed_rate) == (pytest.approx(0.05), 0.0)
    assert (bins[1].mean_predicted, bins[1].observed_rate) == (pytest.approx(0.15), 0.5)
    assert (bins[9].mean_predicted, bins[9].observed_rate) == (pytest.approx(0.975), 1.0)
    assert (bins[2].mean_predicted, bins[2].observed_rate, bins[2].lower, bins[2].upper) == (None, None, 0.2, 0.3)


def test_evaluate_scores__accuracy_counts_threshold_as_satisfied() -> None:
    report = evaluate_scores([0.5, 0.49, 0.2, 0.8], [1, 0, 1, 1], threshold=0.5)
    assert (report.n, report.positives, report.positive_rate, report.accuracy) == (4, 3, 0.75, 0.75)
    assert report.to_dict()["calibration"][4] == {"lower": 0.4, "upper": 0.5, "count": 1, "mean_predicted": 0.49,
                                                 "observed_rate": 0.0}
    table = report.render_table()
    assert "accuracy       0.750\n" in table and "[0.9, 1.0]        0               -              -\n" in table


# -- training -------------------------------------------------------------------------------------------------
def test_train__separable_data_reaches_high_held_out_accuracy(trained: tuple[Path, Path, Any]) -> None:
    data, out, report = trained
    assert report.completed and report.steps == report.total_steps == 20 * math.ceil(report.train_size / 16)
    assert report.eval is not None and report.eval.accuracy >= 0.9 and report.eval.roc_auc >= 0.95
    metadata = json.loads((out / METADATA_FILE).read_text())
    assert metadata["label_counts"] == {"positives": 200, "negatives": 200}
    assert metadata["data_sha256"] == __import__("hashlib").sha256(data.read_bytes()).hexdigest()
    assert metadata["max_length"] == 32 and metadata["threshold"] == 0.5
    again = evaluate(out, data)
    assert again.n == 400 and again.accuracy >= 0.9


def test_train__keeps_the_callers_global_rng_state(tmp_path: Path, base_dir: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", topic_rows(20))
    state = torch.get_rng_state()
    train(data, tmp_path / "out", base=base_dir, epochs=1, batch_size=8, max_length=32, checkpoint_every=0,
          progress=False)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("tqdm_installed", [True, False], ids=["tqdm", "click-fallback"])
def test_train__progress_bar_on_stderr_when_forced(tmp_path: Path, base_dir: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch, tqdm_installed: bool) -> None:
    if not tqdm_installed:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `from tqdm import tqdm` raise ImportError
    data = write_jsonl(tmp_path / "d.jsonl", topic_rows(16))
    train(data, tmp_path / "out", base=base_dir, epochs=1, batch_size=8, max_length=32, eval_fraction=0.0,
          checkpoint_every=0, progress=True)
    captured = capsys.readouterr()
    assert "training" in captured.err and "training" not in captured.out


def test_train__constraint_too_long_names_the_line(tmp_path: Path, base_dir: Path) -> None:
    rows = [*topic_rows(4), {"constraint_text": "cat " * 40, "response": "dog", "label": 1}]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DataError, match=r"line 5: constraint_text: constraint text is 40 tokens"):
        train(data, tmp_path / "out", base=base_dir, max_length=32, eval_fraction=0.0, progress=False)


def _weights(folder: Path) -> dict[str, Any]:
    return SoftClassifier.load(folder, device="cpu").model.state_dict()


def test_train__resume_after_interruption_gives_the_same_weights(tmp_path: Path, base_dir: Path) -> None:
    # Dropout is on here so the restored RNG state matters.
    base = build_tiny_model(tmp_path / "dropout", seed=1)
    config = json.loads((base / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "hidden_dropout_prob": 0.1}))
    data = write_jsonl(tmp_path / "d.jsonl", topic_rows(60))
    kwargs: dict[str, Any] = {"base": base, "epochs": 2, "lr": 1e-3, "batch_size": 8, "max_length": 32,
                              "checkpoint_every": 3, "progress": False}
    whole = train(data, tmp_path / "whole", **kwargs)
    cut = train(data, tmp_path / "cut", max_steps=7, **kwargs)
    assert not cut.completed and cut.steps == 7 and not (tmp_path / "cut" / METADATA_FILE).exists()
    assert [Path(p).name for p in cut.checkpoints] == ["step-3", "step-6"]
    with pytest.raises(ValueError, match="made with different lr"):
        train(data, tmp_path / "cut", **{**kwargs, "lr": 2e-3})
    resumed = train(data, tmp_path / "cut", **kwargs)
    assert resumed.completed and resumed.resumed_from == 6 and resumed.steps == whole.steps
    expected, actual = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert expected.keys() == actual.keys()
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
    fresh = train(data, tmp_path / "cut", resume=False, **kwargs)
    assert fresh.resumed_from is None


# -- the rm command line --------------------------------------------------------------------------------------
@click.group()
def cli() -> None:
    """A stand-in for the ifverify group."""


cli.add_command(rm)


def test_rm_eval__table_and_json(trained: tuple[Path, Path, Any]) -> None:
    data, out, _ = trained
    result = CliRunner().invoke(cli, ["rm", "eval", str(out), str(data)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["n", "pos", "ROC-AUC", "bal.acc", "ECE", "tau-b"]
    assert lines[1].split()[:3] == ["all", "400", "200"] and float(lines[1].split()[3]) >= 0.95
    assert "controls (ROC-AUC):" in lines and any(line.startswith("  length only ") for line in lines)
    result = CliRunner().invoke(cli, ["rm", "eval", str(out), str(data), "--format", "json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["overall"]["n"] == 400 and report["overall"]["roc_auc"] >= 0.95
    assert set(report["controls"]) == {"constraint_shuffle_roc_auc", "shuffle_pairs", "constraint_blind_roc_auc",
                                       "length_only_roc_auc"}


def test_rm_eval__bad_data_is_a_one_line_run_error(trained: tuple[Path, Path, Any], tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"constraint_text": "c", "response": "r", "label": 1},
                                               {"constraint_text": "c", "response": "r", "label": "maybe"}])
    result = CliRunner().invoke(cli, ["rm", "eval", str(trained[1]), str(bad)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: {bad}: 1 bad line(s): line 2: label: expected 0/1 or "
                                          "true/false, got 'maybe'"]


def test_rm_eval__folder_without_model_is_a_run_error(trained: tuple[Path, Path, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["rm", "eval", str(tmp_path), str(trained[0])])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("Error: ") and "Traceback" not in result.stderr


def test_rm__usage_errors_exit_2(trained: tuple[Path, Path, Any], tmp_path: Path) -> None:
    data, out, _ = trained
    for args in (["eval", str(out), str(tmp_path / "missing.jsonl")], ["train", str(data)],
                 ["train", str(data), "--out", str(tmp_path / "o"), "--epochs", "0"],
                 ["eval", str(out), str(data), "--format", "xml"]):
        assert CliRunner().invoke(cli, ["rm", *args]).exit_code == 2, args


def test_rm_train__trains_and_prints_metrics(base_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", topic_rows(40))
    result = CliRunner().invoke(cli, ["rm", "train", str(data), "--out", str(tmp_path / "o"), "--base",
                                      str(base_dir), "--epochs", "1", "--max-length", "32", "--eval-fraction",
                                      "0.25", "--checkpoint-every", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"saved classifier to {tmp_path / 'o'} (")
    assert lines[1] == "held-out metrics (calibrated):"
    assert (tmp_path / "o" / METADATA_FILE).is_file()
    assert "\nepoch 1: training loss " in "\n" + result.stderr.replace("\r", "\n")
    history = json.loads((tmp_path / "o" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1] and 0 <= history[0]["val_roc_auc"] <= 1
