"""The ifverify CLI through click's CliRunner: exact lines and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RANDOM_IN_REFERENCE, REPO, read_jsonl

from ifverify.cli import cli

EXAMPLES = REPO / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check__ifeval_input_plus_responses(tmp_path: Path, ifeval_dir: Path) -> None:
    out = tmp_path / "results.jsonl"
    code, stdout, stderr = run("check", str(ifeval_dir / "input_data.jsonl"), "--responses",
                               str(ifeval_dir / "input_response_data_gpt4_20231107_145030.jsonl"),
                               "--results", str(out), "--format", "json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["rows"] == 541 and summary["errors"] == 0
    assert summary["instruction_level"]["strict"]["total"] == 834
    records = read_jsonl(out)
    inputs = read_jsonl(ifeval_dir / "input_data.jsonl")
    assert [r["prompt"] for r in records] == [r["prompt"] for r in inputs]
    reference = {r["prompt"]: r for r in read_jsonl(ifeval_dir / "eval_results_loose.jsonl")}
    for row, record in zip(inputs, records, strict=True):
        assert set(record) >= {"prompt", "instruction_id_list", "follow_instruction_list",
                               "follow_all_instructions", "loose_follow_instruction_list", "details"}
        if row["key"] not in RANDOM_IN_REFERENCE:
            assert record["loose_follow_instruction_list"] == reference[row["prompt"]]["follow_instruction_list"]


def test_check__single_file_with_responses_and_table_summary() -> None:
    code, stdout, _ = run("check", str(EXAMPLES / "sample.jsonl"), "--mode", "strict")
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0] == "ifverify check: 10 rows, 0 error(s) (sample.jsonl)"
    assert lines[2].split() == ["level", "strict"]
    assert any(line.split()[:3] == ["punctuation.no_comma", "1", "100.00%"] for line in lines)


def test_check__markdown_summary() -> None:
    code, stdout, _ = run("check", str(EXAMPLES / "sample.jsonl"), "--format", "markdown")
    assert code == 0
    assert "| level | strict | loose |" in stdout


def test_check__bad_lines_reported_scored_around_and_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    code, stdout, stderr = run("check", str(EXAMPLES / "sample_bad_lines.jsonl"), "--results", str(out))
    assert code == 1
    assert stderr.splitlines() == [
        "line 2: (json): not valid JSON (Expecting value: line 1 column 1 (char 0))",
        "unknown constraint id 'length.wrods': 1 row(s) not scored, first on line 3. Did you mean 'length.words', "
        "'length.paragraphs'?",
        "line 4: kwargs[0]: length_constraints:number_words: param 'num_words' received nothing (missing), "
        "expected an integer >= 0",
        "line 5: response: missing (give each row a response, or pass --responses FILE)",
    ]
    records = read_jsonl(out)
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["follow_all_instructions"] is True
    assert records[1]["error"]["field"] == "(json)" and records[2]["error"]["field"] == "constraints[0].id"
    assert stdout.startswith("ifverify check: 5 rows, 4 error(s)")


def test_check__usage_errors_exit_2() -> None:
    assert run("check", "does-not-exist.jsonl")[0] == 2
    assert run("check", str(EXAMPLES / "sample.jsonl"), "--mode", "lenient")[0] == 2
    assert run("check", str(EXAMPLES / "sample.jsonl"), "--workers", "0")[0] == 2


def test_check__workers_give_the_same_results(tmp_path: Path, ifeval_dir: Path) -> None:
    args = [str(ifeval_dir / "input_data.jsonl"), "--responses",
            str(ifeval_dir / "input_response_data_gpt4_20231107_145030.jsonl")]
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run("check", *args, "--results", str(one))[0] == 0
    assert run("check", *args, "--results", str(two), "--workers", "2")[0] == 0
    assert one.read_text() == two.read_text()


def test_list__json_has_the_documented_fields() -> None:
    code, stdout, _ = run("list", "--json", "--origin", "built-in")  # plugins installed or not
    assert code == 0
    entries = json.loads(stdout)
    assert {"id", "kind", "aliases", "params_schema", "description"} <= set(entries[0])
    hard = [e for e in entries if e["kind"] == "hard"]
    assert len(hard) == 23
    assert run("list", "--kind", "hard", "--origin", "built-in")[1].count("\n") == 23


def test_list__markdown_is_the_committed_catalogue() -> None:
    code, stdout, _ = run("list", "--markdown", "--origin", "built-in")
    assert code == 0
    assert (REPO / "docs" / "constraints.md").read_text(encoding="utf-8") == stdout, (
        "docs/constraints.md is stale: regenerate it with "
        "`ifverify list --markdown --origin built-in > docs/constraints.md`")


def test_describe__by_alias_and_unknown_id() -> None:
    code, stdout, _ = run("describe", "keywords:forbidden_words")
    assert code == 0 and stdout.startswith("keywords.presence  (hard, family keywords, built-in)")
    code, _, stderr = run("describe", "length.wrods")
    assert code == 2 and "Did you mean 'length.words'" in stderr


def test_main__no_traceback_without_debug() -> None:
    sample = str(EXAMPLES / "sample.jsonl")
    proc = subprocess.run([sys.executable, "-m", "ifverify", "check", sample, "--results", sample + "/out.jsonl"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"Error: cannot write --results {sample}/out.jsonl: ")


@pytest.mark.parametrize("module", ["torch", "transformers"])
def test_check__does_not_import_heavy_libraries(module: str) -> None:
    code = (f"import sys\nfrom ifverify.cli import main\n"
            f"try:\n    main(['check', {str(EXAMPLES / 'sample.jsonl')!r}])\nexcept SystemExit:\n    pass\n"
            f"assert {module!r} not in sys.modules, 'imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
