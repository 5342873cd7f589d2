"""`ifverify check` with foreign and unknown ids, and the prompt join of --responses (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ifverify.cli import cli

COMMA = {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def _row(prompt: str, ids: list[str], response: str | None = "no commas here") -> dict[str, Any]:
    row: dict[str, Any] = {"prompt": prompt, "instruction_id_list": ids, "kwargs": [{} for _ in ids]}
    if response is not None:
        row["response"] = response
    return row


def _check(tmp_path: Path, rows: list[dict[str, Any]], *args: str,
           responses: list[dict[str, Any]] | None = None) -> tuple[int, str, str, list[dict[str, Any]]]:
    data, out = tmp_path / "rows.jsonl", tmp_path / "results.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    extra: list[str] = []
    if responses is not None:
        path = tmp_path / "responses.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in responses), encoding="utf-8")
        extra = ["--responses", str(path)]
    result = CliRunner().invoke(cli, ["check", str(data), "--results", str(out), *extra, *args])
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return result.exit_code, result.stdout, result.stderr, records


UNKNOWN_ROWS = [
    _row("p1", ["punctuation:no_comma", "style:nonsense"]),
    _row("p2", ["style:nonsense", "keywords:existance", "style:nonsense"]),
    _row("p3", ["punctuation:no_comma"]),
    _row("p4", ["keywords:existance"]),
]


def test_unknown_ids__one_line_per_id_with_count_and_first_line(tmp_path: Path) -> None:
    code, _, stderr, records = _check(tmp_path, UNKNOWN_ROWS, "--mode", "strict")
    assert code == 1
    assert stderr.splitlines() == [  # at each id's first line; hints from the id's own family only
        "unknown constraint id 'style:nonsense': 2 row(s) not scored, first on line 1.",
        "unknown constraint id 'keywords:existance': 2 row(s) not scored, first on line 2. Did you mean "
        "'keywords:existence', 'keywords.presence', 'keywords:frequency'?",
    ]
    assert records[0]["error"] == {"field": "instruction_id_list[1]",
                                   "problem": "unknown constraint id 'style:nonsense'."}
    assert records[1]["error"] == {"field": "instruction_id_list", "problem": "unknown constraint ids "
                                   "'style:nonsense', 'keywords:existance' (--skip-unknown scores the others)"}
    assert records[2]["follow_instruction_list"] == [True]


def test_skip_unknown__scores_the_known_and_marks_the_unknown_unscored(tmp_path: Path) -> None:
    code, stdout, stderr, records = _check(tmp_path, UNKNOWN_ROWS, "--skip-unknown", "--format", "json")
    assert code == 0
    assert stderr.splitlines()[0] == "unknown constraint id 'style:nonsense': 2 row(s) left unscored, first on line 1."
    first = records[0]
    assert first["instruction_id_list"] == ["punctuation:no_comma", "style:nonsense"]
    assert first["follow_instruction_list"] == [True, None]
    assert first["loose_follow_instruction_list"] == [True, None]
    assert first["follow_all_instructions"] is True
    assert first["unknown"] == ["style:nonsense"] and first["unscored"] == ["style:nonsense"]
    assert first["details"][1] == {"id": "style:nonsense", "unscored": True, "strict": None, "loose": None,
                                   "reason": "unscored: unknown constraint id (--skip-unknown)"}
    assert records[1]["follow_instruction_list"] == [None, None, None]
    assert records[1]["follow_all_instructions"] is None
    summary = json.loads(stdout)
    assert summary["errors"] == 0 and summary["unknown_unscored"] == 5
    assert summary["instruction_level"]["strict"] == {"accuracy": 1.0, "passed": 2, "total": 2}
    assert summary["prompt_level"]["strict"]["total"] == 2  # rows 2 and 4 have nothing scored
    assert summary["per_constraint"]["style:nonsense"]["unscored"] == 3


def test_skip_unknown__text_summary_says_why_they_are_unscored(tmp_path: Path) -> None:
    code, stdout, _, _ = _check(tmp_path, UNKNOWN_ROWS, "--skip-unknown", "--mode", "strict")
    assert code == 0
    assert stdout.splitlines()[-1] == ("5 constraint(s) with an unknown id unscored, left out of the accuracies "
                                       "(--skip-unknown)")
    assert "soft constraint(s) unscored" not in stdout


def test_join__falls_back_to_stripped_prompts_and_says_so_once(tmp_path: Path) -> None:
    rows = [{"prompt": "Hello there ", **COMMA}, {"prompt": " spaced", **COMMA}, {"prompt": "exact", **COMMA}]
    responses = [{"prompt": "Hello there", "response": "a, b"}, {"prompt": "spaced", "response": "ok"},
                 {"prompt": "exact", "response": "ok"}]
    code, _, stderr, records = _check(tmp_path, rows, "--mode", "strict", responses=responses)
    assert code == 0
    assert stderr.splitlines() == ["note: 2 row(s) matched a response only after stripping whitespace from the "
                                   "prompts (line(s) 1, 2), as IFBench's evaluation joins them"]
    assert [r["follow_instruction_list"] for r in records] == [[False], [True], [True]]


def test_join__an_exact_match_wins_over_a_stripped_one(tmp_path: Path) -> None:
    rows = [{"prompt": "p ", **COMMA}]
    responses = [{"prompt": "p", "response": "a, b"}, {"prompt": "p ", "response": "ok"}]
    code, _, stderr, records = _check(tmp_path, rows, "--mode", "strict", responses=responses)
    assert (code, stderr, records[0]["follow_instruction_list"]) == (0, "", [True])


def test_join__duplicate_prompts_are_an_error_naming_the_lines(tmp_path: Path) -> None:
    rows = [{"prompt": "twice", **COMMA}, {"prompt": "once", **COMMA}]
    responses = [{"prompt": "twice", "response": "a"}, {"prompt": "once", "response": "b"},
                 {"prompt": "twice", "response": "c"}]
    code, _, stderr, records = _check(tmp_path, rows, "--mode", "strict", responses=responses)
    assert code == 1
    assert stderr.splitlines() == [
        "responses line 1: prompt: duplicate prompt: the same prompt is on lines 1, 3",
        "responses line 3: prompt: duplicate prompt: the same prompt is on lines 1, 3",
        "line 1: response: ambiguous: the responses file has this prompt on lines 1, 3",
    ]
    assert records[1]["follow_instruction_list"] == [True]
