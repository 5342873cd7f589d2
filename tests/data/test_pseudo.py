"""Pseudo-labels from level-k responses, and their validation against the hard checkers.

Every response below is crafted so that the checker verdict of each pair is known by hand.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
from click.testing import CliRunner

from ifverify.cli.labels import pseudo_label as pseudo_label_cmd
from ifverify.cli.labels import validate_labels as validate_labels_cmd
from ifverify.constraints.base import SoftConstraint
from ifverify.constraints.registry import Registry, builtin_types, default_registry
from ifverify.data.pseudo import pseudo_label, pseudo_label_file, validate_labels, write_jsonl

NO_COMMA = {"id": "punctuation.no_comma", "params": {}}
FEW_WORDS = {"id": "length.words", "params": {"relation": "less than", "num_words": 8}}
UPPER = {"id": "case.whole", "params": {"case": "upper"}}
QUOTED = {"id": "startend.quotation", "params": {}}
LIGHTHOUSE = {"id": "keywords.presence", "params": {"keywords": ["lighthouse"], "mode": "include"}}
S1_SPECS = [NO_COMMA, FEW_WORDS, UPPER, QUOTED, LIGHTHOUSE]
S1_RESPONSES = {
    0: "Once, there was a small lighthouse by the sea that glowed for the ships.",  # comma, 14 words
    1: "There was a lighthouse by the sea and it glowed every night.",  # no comma, 12 words
    2: "A lighthouse glowed at night.",  # 5 words, not upper case
    3: "A LIGHTHOUSE GLOWED AT NIGHT.",  # upper case, not quoted
    4: '"A LIGHTHOUSE GLOWED AT NIGHT."',  # quoted, and it mentions the lighthouse anyway
    5: '"A LIGHTHOUSE GLOWED."',
}
S2_SPECS = [NO_COMMA, FEW_WORDS]
S2_RESPONSES = {0: "Hello, world.", 1: "Hi, there.", 2: "short answer"}


def rows_for(seed_id: str, specs: list[dict[str, Any]], responses: Mapping[int, str | None]) -> list[dict[str, Any]]:
    """Response rows as the generation step writes them; a None response is a failed generation."""
    rows = []
    for level, response in responses.items():
        row: dict[str, Any] = {"id": f"{seed_id}-L{level}", "seed_id": seed_id, "level": level,
                               "seed": "Write about a lighthouse.", "prompt": f"prompt {level}",
                               "constraints": specs[:level], "generator": {"model": "test"}}
        if response is None:
            row["error"] = {"type": "Timeout", "message": "took too long"}
        else:
            row["response"] = response
        rows.append(row)
    return rows


def both_seeds() -> list[dict[str, Any]]:
    return rows_for("s1", S1_SPECS, S1_RESPONSES) + rows_for("s2", S2_SPECS, S2_RESPONSES)


def write_rows(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


# -- pair formation --------------------------------------------------------------------------------------------
def test_pseudo_label__one_positive_and_one_negative_per_level_including_the_l0_negative() -> None:
    report = pseudo_label(rows_for("s1", S1_SPECS, S1_RESPONSES))
    assert [p["pair_id"] for p in report.pairs] == [f"s1-L{k}-{t}" for k in range(1, 6) for t in ("pos", "neg")]
    for k in range(1, 6):
        pos, neg = report.pairs[2 * k - 2], report.pairs[2 * k - 1]
        assert (pos["label"], pos["response"], pos["source_id"]) == (1, S1_RESPONSES[k], f"s1-L{k}")
        assert (neg["label"], neg["response"], neg["source_id"]) == (0, S1_RESPONSES[k - 1], f"s1-L{k - 1}")
        for pair in (pos, neg):
            assert pair["constraint"] == S1_SPECS[k - 1] and pair["constraint_id"] == S1_SPECS[k - 1]["id"]
            assert (pair["seed_id"], pair["level"], pair["kind"]) == ("s1", k, "hard")
            assert pair["prompt"] == f"prompt {k}"  # the instruction that asks for c_k, for both pairs
    assert set(report.pairs[0]) == {"pair_id", "seed_id", "level", "constraint", "constraint_id", "kind",
                                    "constraint_text", "response", "label", "source_id", "prompt"}
    assert report.errors == [] and report.seeds == 1 and report.rows == 6


def test_pseudo_label__constraint_text_is_the_hard_instruction() -> None:
    pairs = pseudo_label(rows_for("s1", S1_SPECS, S1_RESPONSES)).pairs
    assert pairs[0]["constraint_text"] == "In your entire response, refrain from the use of any commas."
    assert pairs[2]["constraint_text"] == "Answer with less than 8 words."
    for pair in pairs:
        assert pair["constraint_text"] == default_registry().build_spec(pair["constraint"]).instruction()


def test_pseudo_label__failed_and_absent_rows_leave_their_pairs_unformed() -> None:
    responses = {0: S1_RESPONSES[0], 1: S1_RESPONSES[1], 2: None, 3: S1_RESPONSES[3], 5: S1_RESPONSES[5]}
    report = pseudo_label(rows_for("s1", S1_SPECS, responses))
    assert [p["pair_id"] for p in report.pairs] == ["s1-L1-pos", "s1-L1-neg"]
    assert report.missing_responses == 1
    assert report.unformed == [
        {"seed_id": "s1", "level": 2, "failed": [2], "absent": []},
        {"seed_id": "s1", "level": 3, "failed": [2], "absent": []},
        {"seed_id": "s1", "level": 4, "failed": [], "absent": [4]},
        {"seed_id": "s1", "level": 5, "failed": [], "absent": [4]},
    ]
    assert report.errors == []


def test_pseudo_label__inconsistent_seed_is_skipped_whole() -> None:
    bad = rows_for("s2", S2_SPECS, S2_RESPONSES)
    bad[2]["constraints"] = [UPPER, FEW_WORDS]  # L2 no longer extends L1
    report = pseudo_label(rows_for("s1", S1_SPECS, S1_RESPONSES) + bad)
    assert {p["seed_id"] for p in report.pairs} == {"s1"}
    assert report.inconsistent == [{"seed_id": "s2", "problem": "the first 1 constraint(s) of L2 (s2-L2) differ "
                                    "from the constraints of L1 (s2-L1)"}]
    assert report.seeds == 2 and report.unformed == []


def test_pseudo_label__duplicate_pairs_keep_the_first() -> None:
    rows = rows_for("a", [NO_COMMA], {0: "x, y.", 1: "x y."}) + rows_for("b", [NO_COMMA], {0: "x, y.", 1: "x y."})
    report = pseudo_label(rows)
    assert [p["pair_id"] for p in report.pairs] == ["a-L1-pos", "a-L1-neg"]
    assert (report.duplicates_removed, report.conflicts_dropped) == (2, 0)


def test_pseudo_label__a_pair_seen_with_both_labels_is_dropped_as_conflicting() -> None:
    # o_1 == o_0: (c_1, o_1) is both a positive and a negative; level 2 is unaffected.
    rows = rows_for("s2", S2_SPECS, {0: "Hi there.", 1: "Hi there.", 2: "short answer"})
    report = pseudo_label(rows)
    assert [p["pair_id"] for p in report.pairs] == ["s2-L2-pos", "s2-L2-neg"]
    assert (report.duplicates_removed, report.conflicts_dropped) == (0, 2)


def test_pseudo_label__order_is_by_seed_then_level_whatever_the_input_order() -> None:
    rows = both_seeds()
    expected = pseudo_label(rows).pairs
    shuffled = list(rows)
    random.Random(7).shuffle(shuffled)
    assert pseudo_label(shuffled).pairs == expected
    assert [p["pair_id"] for p in expected[-4:]] == ["s2-L1-pos", "s2-L1-neg", "s2-L2-pos", "s2-L2-neg"]


def test_pseudo_label__class_balance_and_counts() -> None:
    report = pseudo_label(both_seeds())
    assert report.by_label == {"positive": 7, "negative": 7} and report.positive_share == 0.5
    assert report.by_kind == {"hard": 14, "soft": 0}
    assert report.by_type["punctuation.no_comma"] == {"positive": 2, "negative": 2}
    assert report.by_type["keywords.presence"] == {"positive": 1, "negative": 1}
    # b's positive duplicates a's and goes; b's negative differs and stays: 1 positive out of 3.
    rows = rows_for("a", [NO_COMMA], {0: "x, y.", 1: "x y."}) + rows_for("b", [NO_COMMA], {0: "p, q.", 1: "x y."})
    skewed = pseudo_label(rows)
    assert skewed.by_label == {"positive": 1, "negative": 2} and skewed.positive_share == pytest.approx(1 / 3)
    assert pseudo_label([]).positive_share is None


# -- soft pairs --------------------------------------------------------------------------------------------------
class _Tone(SoftConstraint):
    id = "pseudotest.tone"
    family = "pseudotest"
    templates = ("Use a {tone} tone.",)
    slots: ClassVar[dict[str, tuple[str, ...]]] = {"tone": ("cheerful",)}


@pytest.fixture
def soft_setup() -> tuple[Registry, dict[str, Any]]:
    """The registered soft.tone when a colleague has added it; else a private registry with a test soft type."""
    if "soft.tone" in default_registry():
        return default_registry(), {"id": "soft.tone", "text": "Use a cheerful tone."}
    registry = Registry()
    for cls in builtin_types():
        registry.register(cls)
    registry.register(_Tone)
    return registry, {"id": "pseudotest.tone", "text": "Use a cheerful tone."}


def test_pseudo_label__soft_constraint_text_is_its_text(soft_setup: tuple[Registry, dict[str, Any]]) -> None:
    registry, tone = soft_setup
    report = pseudo_label(rows_for("t", [NO_COMMA, tone], {0: "a, b", 1: "a b", 2: "Yay a b!"}), registry=registry)
    soft = [p for p in report.pairs if p["level"] == 2]
    assert [(p["kind"], p["constraint_text"], p["label"]) for p in soft] == [
        ("soft", "Use a cheerful tone.", 1), ("soft", "Use a cheerful tone.", 0)]
    assert report.by_kind == {"hard": 2, "soft": 2}
    assert report.by_type[tone["id"]] == {"positive": 1, "negative": 1}
    validation = validate_labels(report.pairs)
    assert validation.soft_skipped == 2 and validation.pairs == 4
    assert validation.overall.positives + validation.overall.negatives == 2
    assert list(validation.per_type) == ["punctuation.no_comma"]


# -- validation against the checkers -----------------------------------------------------------------------------
def test_validate_labels__hit_rates_and_precision_by_hand() -> None:
    report = validate_labels(pseudo_label(both_seeds()).pairs)
    tallies = {t: tally.to_dict() for t, tally in report.per_type.items()}
    # no_comma: s1 pos ok, s1 neg has a comma (hit), s2 pos "Hi, there." has one (miss), s2 neg has one (hit).
    assert tallies["punctuation.no_comma"] == {
        "positives": 2, "positive_hits": 1, "positive_hit_rate": 0.5, "negatives": 2, "negative_hits": 2,
        "negative_hit_rate": 1.0, "precision": 0.75, "accuracy": 0.75}
    # length.words < 8: both positives short; s2's negative "Hi, there." is short too (miss).
    assert tallies["length.words"]["positive_hit_rate"] == 1.0 and tallies["length.words"]["negative_hit_rate"] == 0.5
    assert tallies["length.words"]["precision"] == 0.75
    assert tallies["case.whole"]["precision"] == tallies["startend.quotation"]["precision"] == 1.0
    # The L4 answer already mentions the lighthouse: the negative of c_5 is wrong.
    assert tallies["keywords.presence"] == {
        "positives": 1, "positive_hits": 1, "positive_hit_rate": 1.0, "negatives": 1, "negative_hits": 0,
        "negative_hit_rate": 0.0, "precision": 0.5, "accuracy": 0.5}
    overall = report.overall
    assert (overall.positives, overall.positive_hits, overall.negatives, overall.negative_hits) == (7, 6, 7, 5)
    assert overall.precision == overall.accuracy == pytest.approx(11 / 14)
    assert report.soft_skipped == 0 and report.errors == [] and report.pairs == 14


def test_validate_labels__loose_mode_forgives_a_chatty_first_line() -> None:
    rows = rows_for("c", [UPPER], {0: "a lighthouse.", 1: "Sure, here it is:\nA LIGHTHOUSE."})
    pairs = pseudo_label(rows).pairs
    strict, loose = validate_labels(pairs), validate_labels(pairs, mode="loose")
    assert strict.overall.positive_hit_rate == 0.0 and loose.overall.positive_hit_rate == 1.0
    assert strict.overall.negative_hit_rate == loose.overall.negative_hit_rate == 1.0
    with pytest.raises(ValueError, match="mode must be one of strict, loose"):
        validate_labels(pairs, mode="lenient")


def test_validate_labels__bad_pairs_become_line_errors() -> None:
    good = pseudo_label(rows_for("s2", S2_SPECS, S2_RESPONSES)).pairs[0]
    bad: list[Any] = [{**good, "label": True}, {**good, "kind": "medium"}, {**good, "response": None},
           {**good, "constraint": {"id": "length.wrods", "params": {}}},
           {**good, "constraint": {"id": "length.words", "params": {"relation": "about", "num_words": 3}}}, "oops"]
    report = validate_labels([good, *bad])
    assert [str(e) for e in report.errors] == [
        "line 2: label: expected 0 or 1, got True",
        "line 3: kind: expected 'hard' or 'soft', got 'medium'",
        "line 4: response: expected a string, got NoneType",
        "line 5: constraint.id: unknown constraint id 'length.wrods'. Did you mean 'length.words', "
        "'length.paragraphs'?",
        "line 6: constraint.params: length.words: param 'relation' received 'about', expected one of "
        "'less than', 'at least'",
        "line 7: (json): expected a JSON object, got str",
    ]
    assert report.pairs == 1 and report.overall.positives == 1


# -- the commands --------------------------------------------------------------------------------------------------
def invoke(*args: str) -> tuple[int, str, str]:
    group = click.Group("ifverify-test")
    group.add_command(pseudo_label_cmd)
    group.add_command(validate_labels_cmd)
    result = CliRunner().invoke(group, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli__pseudo_label_writes_pairs_and_prints_the_balance(tmp_path: Path) -> None:
    src = write_rows(tmp_path / "responses.jsonl", both_seeds())
    out = tmp_path / "sub" / "pairs.jsonl"
    code, stdout, stderr = invoke("pseudo-label", str(src), "--out", str(out))
    assert (code, stderr) == (0, "")
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert written == pseudo_label_file(src).pairs
    lines = stdout.splitlines()
    assert lines[0] == "ifverify pseudo-label: 9 rows, 0 error(s), 2 seed(s) (responses.jsonl)"
    assert lines[2] == "pairs: 14 (7 positive, 7 negative; positive share 50.00%)"
    assert any(line.split() == ["punctuation.no_comma", "2", "2"] for line in lines)
    code, stdout, _ = invoke("pseudo-label", str(src), "--out", str(out), "--format", "json")
    summary = json.loads(stdout)
    assert (code, summary["pairs"], summary["positive_share"], summary["by_kind"]) == (0, 14, 0.5,
                                                                                       {"hard": 14, "soft": 0})


def test_cli__pseudo_label_reports_bad_lines_and_exits_1(tmp_path: Path) -> None:
    good = rows_for("s1", S1_SPECS, {0: S1_RESPONSES[0], 1: S1_RESPONSES[1]})
    src = write_rows(tmp_path / "in.jsonl", [
        good[0], "not json", {**good[1], "level": 7}, {**good[1], "level": 2},
        {**good[1], "seed_id": "s9", "constraints": [{"id": "punctuation.no_coma"}]},
        {k: v for k, v in good[1].items() if k != "response"}, good[1], {**good[1], "response": "again"},
        {**good[1], "seed_id": None}, {**good[1], "id": "s1-L2-bis", "level": 2, "constraints": S1_SPECS[:2],
                                       "response": None, "error": {"message": "boom"}},
    ])
    out = tmp_path / "pairs.jsonl"
    code, stdout, stderr = invoke("pseudo-label", str(src), "--out", str(out))
    assert code == 1
    assert stderr.splitlines() == [
        "line 2: (json): not valid JSON (Expecting value: line 1 column 1 (char 0))",
        "line 3: level: expected an integer from 0 to 5, got 7",
        "line 4: constraints: expected 2 constraint(s) for level 2, got 1",
        "line 5: constraints[0].id: unknown constraint id 'punctuation.no_coma'. Did you mean "
        "'punctuation.no_comma', 'punctuation:no_comma'?",
        "line 6: response: missing (and no 'error' recorded for a failed generation)",
        "line 8: level: seed 's1' already has a level-1 row (line 7); this one is skipped",
        "line 9: seed_id: expected a string, got None",
    ]
    assert [json.loads(line)["pair_id"] for line in out.read_text().splitlines()] == ["s1-L1-pos", "s1-L1-neg"]
    assert stdout.splitlines()[0] == "ifverify pseudo-label: 10 rows, 7 error(s), 1 seed(s) (in.jsonl)"
    assert "missing responses: 1; pairs not formed: 1; inconsistent seeds: 0" in stdout
    assert "not formed: s1 L2: L2 failed" in stdout


def test_cli__usage_errors_exit_2(tmp_path: Path) -> None:
    src = write_rows(tmp_path / "in.jsonl", both_seeds())
    assert invoke("pseudo-label", str(src))[0] == 2  # --out is required
    assert invoke("pseudo-label", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.jsonl"))[0] == 2
    assert invoke("pseudo-label", str(src), "--out", str(tmp_path / "o.jsonl"), "--format", "markdown")[0] == 2
    assert invoke("validate-labels", str(src), "--mode", "lenient")[0] == 2
    assert invoke("validate-labels", str(tmp_path / "missing.jsonl"))[0] == 2


def test_cli__unwritable_out_is_a_one_line_run_error(tmp_path: Path) -> None:
    src = write_rows(tmp_path / "in.jsonl", both_seeds())
    code, _, stderr = invoke("pseudo-label", str(src), "--out", str(src / "pairs.jsonl"))
    assert code == 1 and stderr.startswith(f"Error: cannot write --out {src}/pairs.jsonl: ")
    assert "Traceback" not in stderr


def test_cli__validate_labels_table_markdown_and_json(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    write_jsonl(pairs, pseudo_label(both_seeds()).pairs)
    code, stdout, stderr = invoke("validate-labels", str(pairs))
    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert lines[0] == "ifverify validate-labels (strict): 14 pairs, 14 hard checked, 0 soft skipped, 0 error(s) " \
                       "(pairs.jsonl)"
    assert lines[2].split() == ["constraint", "positives", "pos", "hit", "negatives", "neg", "hit", "agree"]
    assert ["punctuation.no_comma", "2", "50.00%", "2", "100.00%", "75.00%"] in [line.split() for line in lines]
    assert ["all", "7", "85.71%", "7", "71.43%", "78.57%"] in [line.split() for line in lines]
    assert lines[-1] == "label-checker agreement (accuracy): 78.57%"
    code, stdout, _ = invoke("validate-labels", str(pairs), "--format", "markdown")
    assert code == 0 and "| keywords.presence | 1 | 100.00% | 1 | 0.00% | 50.00% |" in stdout
    code, stdout, _ = invoke("validate-labels", str(pairs), "--format", "json", "--mode", "loose")
    summary = json.loads(stdout)
    assert (code, summary["mode"], summary["hard"], summary["overall"]["negative_hits"]) == (0, "loose", 14, 5)


def test_cli__validate_labels_bad_lines_exit_1(tmp_path: Path) -> None:
    good = pseudo_label(both_seeds()).pairs[0]
    pairs = write_rows(tmp_path / "pairs.jsonl", [good, "[1, 2]", {**good, "label": 2}])
    code, stdout, stderr = invoke("validate-labels", str(pairs))
    assert code == 1
    assert stderr.splitlines() == ["line 2: (json): expected a JSON object, got list",
                                   "line 3: label: expected 0 or 1, got 2"]
    assert "1 pairs, 1 hard checked, 0 soft skipped, 2 error(s)" in stdout.splitlines()[0]
