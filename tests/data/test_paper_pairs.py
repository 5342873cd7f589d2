"""Importing the paper's released pseudo-label pairs (third_party/verl-if) and validating their labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifverify.cli import cli
from ifverify.data.paper_pairs import SOFT_ID_MAP, clean_kwargs, import_file, import_rows
from ifverify.data.pseudo import validate_labels

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "third_party" / "verl-if" / "train.parquet"
NULL_KWARGS = {"num_words": None, "relation": None, "keywords": None}


def paper_row(**overrides: Any) -> dict[str, Any]:
    row = {"prompt": "Describe the sea. Use no commas. Be funny.",
           "constraint": ["Use no commas.", "Be funny."],
           "instruction_id_list": ["punctuation:no_comma", "style:open_ended"],
           "kwargs": [dict(NULL_KWARGS), dict(NULL_KWARGS)],
           "chosen": "The sea is a big wet joke", "rejected": "The sea is large, wet and blue."}
    row.update(overrides)
    return row


def test_clean_kwargs__drops_nulls_and_makes_integral_floats_ints() -> None:
    cleaned = clean_kwargs({"num_words": 23.0, "relation": "at least", "keywords": None, "ratio": 0.5})
    assert cleaned == {"num_words": 23, "relation": "at least", "ratio": 0.5}
    assert type(cleaned["num_words"]) is int
    assert clean_kwargs(None) == {}


def test_import__soft_last_constraint_gives_a_positive_and_a_negative() -> None:
    report = import_rows([(1, paper_row())])
    assert report.errors == []
    pos, neg = report.pairs
    assert (pos["label"], neg["label"]) == (1, 0)
    assert pos["response"] == "The sea is a big wet joke" and neg["response"].startswith("The sea is large")
    assert pos["constraint"] == {"id": "soft.tone", "text": "Be funny."}
    assert pos["kind"] == "soft" and pos["constraint_text"] == "Be funny." and pos["paper_id"] == "style:open_ended"
    assert pos["context"] == [{"id": "punctuation.no_comma", "params": {}}]
    assert pos["pair_id"] == "paper-00001-L2-pos" and neg["pair_id"] == "paper-00001-L2-neg"


def test_import__hard_last_constraint_gets_native_id_and_cleaned_params() -> None:
    kwargs = [dict(NULL_KWARGS), {**NULL_KWARGS, "num_words": 23.0, "relation": "at least"}]
    row = paper_row(instruction_id_list=["style:open_ended", "length_constraints:number_words"], kwargs=kwargs,
                    constraint=["Be funny.", "Respond with at least 23 words"])
    report = import_rows([(7, row)])
    assert report.errors == []
    pos = report.pairs[0]
    assert pos["constraint"] == {"id": "length.words", "params": {"num_words": 23, "relation": "at least"}}
    assert pos["kind"] == "hard" and pos["constraint_text"] == "Respond with at least 23 words"


@pytest.mark.parametrize(("override", "where"), [
    ({"chosen": None}, "line 2: chosen: expected a string, got None"),
    ({"instruction_id_list": ["punctuation:no_comma", "style:nonsense"]},
     "line 2: instruction_id_list[1]: unknown constraint id 'style:nonsense'"),
    ({"kwargs": [dict(NULL_KWARGS), {"num_words": "many"}],
      "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"]}, "line 2: kwargs[1]: "),
    ({"constraint": ["Use no commas."]}, "line 2: instruction_id_list: 2 ids, but 1 constraint texts and 2 kwargs"),
    ({"constraint": ["Use no commas.", ""]}, "line 2: constraint[1]: expected a non-empty string, got ''"),
])
def test_import__a_bad_row_is_one_named_error_and_the_rest_are_imported(override: dict[str, Any],
                                                                        where: str) -> None:
    report = import_rows([(1, paper_row()), (2, paper_row(**override)), (3, paper_row())])
    assert [str(e) for e in report.errors][0].startswith(where)
    assert len(report.errors) == 1
    assert [p["seed_id"] for p in report.pairs] == ["paper-00001"] * 2 + ["paper-00003"] * 2


def test_import_cli__jsonl_with_a_bad_line(tmp_path: Path) -> None:
    src = tmp_path / "paper.jsonl"
    src.write_text(json.dumps(paper_row()) + "\n{not json\n" + json.dumps(paper_row()) + "\n", encoding="utf-8")
    out = tmp_path / "pairs.jsonl"
    result = CliRunner().invoke(cli, ["data", "import-pairs", str(src), "--out", str(out)])
    assert result.exit_code == 1
    assert "line 2: (json): not valid JSON" in result.stderr
    assert result.stdout.startswith("imported 2 of 3 rows: 4 pairs (0 hard and 2 soft constraints")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


def test_import__the_papers_released_rows() -> None:
    report = import_file(PAPER)
    assert report.errors == []
    assert report.rows == 1073 and len(report.pairs) == 2146
    assert report.by_kind() == {"hard": 807, "soft": 266}
    soft_ids = {p["paper_id"] for p in report.pairs if p["kind"] == "soft"}
    assert soft_ids == set(SOFT_ID_MAP)
    for pair in report.pairs:
        params = pair["constraint"].get("params", {})
        assert None not in params.values()
        assert not any(isinstance(v, float) and v.is_integer() for v in params.values())


def test_validate_labels__the_papers_hard_pseudo_labels_agree_with_the_checkers() -> None:
    """The seed paper's pseudo-label validation, on its own released training rows (docs/fidelity.md)."""
    report = validate_labels(import_file(PAPER).pairs)
    assert report.errors == [] and report.soft_skipped == 532
    assert (report.overall.positives, report.overall.negatives) == (807, 807)
    assert (report.overall.positive_hits, report.overall.negative_hits) == (643, 685)
    assert report.overall.accuracy == pytest.approx(0.8228, abs=5e-5)
