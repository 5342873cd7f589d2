"""`ifverify check` without --classifier: soft constraints are unscored, hard verdicts are kept (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ifverify.cli import cli

HINT = "pass --classifier SPEC: 'default', a classifier folder or 'judge:<url>'"
MIXED = {"prompt": "p1", "response": "hello there friend",
         "constraints": [{"id": "punctuation.no_comma"}, {"id": "soft.tone", "text": "Be cheerful."}]}
SOFT_ONLY = {"prompt": "p2", "response": "hi", "constraints": [{"id": "soft.tone", "text": "Be cheerful."}]}
IFEVAL_ALIAS = {"prompt": "p3", "response": "a, b", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def _check(tmp_path: Path, rows: list[dict], *args: str) -> tuple[int, str, str, list[dict]]:
    data, out = tmp_path / "rows.jsonl", tmp_path / "results.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(data), "--results", str(out), *args])
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return result.exit_code, result.stdout, result.stderr, records


def test_mixed_row__keeps_its_hard_verdict_and_marks_the_soft_one_unscored(tmp_path: Path) -> None:
    code, _, stderr, [record] = _check(tmp_path, [MIXED], "--mode", "strict")
    assert code == 0 and stderr == ""
    assert "error" not in record
    assert record["follow_instruction_list"] == [True, None]
    assert record["follow_all_instructions"] is True
    assert record["unscored"] == ["soft.tone"]
    soft = record["details"][1]
    assert soft == {"id": "soft.tone", "score": None, "unscored": True, "strict": None,
                    "reason": f"unscored: soft constraints need a classifier ({HINT})"}


def test_soft_only_row__has_no_prompt_verdict(tmp_path: Path) -> None:
    code, stdout, _, [record] = _check(tmp_path, [SOFT_ONLY], "--format", "json", "--mode", "strict")
    assert code == 0
    assert record["follow_instruction_list"] == [None] and record["follow_all_instructions"] is None
    summary = json.loads(stdout)
    assert summary["prompt_level"]["strict"]["total"] == 0
    assert summary["per_constraint"]["soft.tone"] == {"strict": {"accuracy": None, "passed": 0, "total": 0},
                                                      "unscored": 1}


def test_summary__unscored_column_and_hint_naming_the_check_flag(tmp_path: Path) -> None:
    code, stdout, _, _ = _check(tmp_path, [MIXED, SOFT_ONLY, IFEVAL_ALIAS], "--mode", "strict")
    assert code == 0
    lines = stdout.splitlines()
    assert lines[-6:] == [
        "constraint            n  strict  unscored",
        "--------------------  -  ------  --------",
        "punctuation.no_comma  2  50.00%         0",
        "soft.tone             0       -         2",
        "",
        f"2 soft constraint(s) unscored, left out of the accuracies: no classifier ({HINT})",
    ]
    assert "Reward(classifier" not in stdout


def test_summary__one_line_per_type_when_rows_use_its_alias_and_native_id(tmp_path: Path) -> None:
    native = {"prompt": "p4", "response": "no comma", "constraints": [{"id": "punctuation.no_comma"}]}
    code, stdout, _, _ = _check(tmp_path, [native, IFEVAL_ALIAS], "--format", "json", "--mode", "strict")
    assert code == 0
    per = json.loads(stdout)["per_constraint"]
    assert list(per) == ["punctuation.no_comma"]
    assert per["punctuation.no_comma"]["strict"] == {"accuracy": 0.5, "passed": 1, "total": 2}


def test_summary__alias_alone_keeps_the_name_the_rows_used(tmp_path: Path) -> None:
    code, stdout, _, _ = _check(tmp_path, [IFEVAL_ALIAS], "--format", "json", "--mode", "strict")
    assert code == 0 and list(json.loads(stdout)["per_constraint"]) == ["punctuation:no_comma"]


def test_serve__its_reward_names_the_serve_flag(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ifverify.serve

    built = []

    class NoServer:
        def __init__(self, reward, **kwargs) -> None:  # type: ignore[no-untyped-def]
            built.append(reward)
            raise OSError("not listening in this test")

    monkeypatch.setattr(ifverify.serve, "RewardServer", NoServer)
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1 and len(built) == 1
    [sample] = built[0].score_batch(completions=["No commas"], constraints=[MIXED["constraints"]])
    assert sample.reward == 1.0
    assert sample.results[1].reason == ("unscored: soft constraints need a classifier "
                                        "(start ifverify serve with --classifier SPEC)")
