"""Hostile input to ``ifverify check``: one bad line is one named error, the rest is scored.

Every test asserts: the exit code (1 for bad lines), no traceback, one result line per input line in
order, every good line scored, and a bounded time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifverify.cli import cli as main

BOUND = 60.0
GOOD = {"prompt": "p", "response": "hello world", "instruction_id_list": ["keywords:existence"],
        "kwargs": [{"keywords": ["hello"]}]}


def _line(row: dict) -> bytes:
    return json.dumps(row).encode() + b"\n"


def _run(tmp_path: Path, lines: list[bytes], *extra: str, responses: list[bytes] | None = None):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(lines))
    results = tmp_path / "out.jsonl"
    args = ["check", str(source), "--results", str(results), "--format", "json", *extra]
    if responses is not None:
        (tmp_path / "responses.jsonl").write_bytes(b"".join(responses))
        args += ["--responses", str(tmp_path / "responses.jsonl")]
    start = time.perf_counter()
    done = CliRunner().invoke(main, args, catch_exceptions=False)
    took = time.perf_counter() - start
    assert took < BOUND
    assert "Traceback" not in done.output
    records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()] \
        if results.exists() else []
    return done, records


def _assert_scored(record: dict, line: int) -> None:
    assert record["line"] == line and "error" not in record and record["follow_all_instructions"] is True


HOSTILE_LINES = [
    pytest.param(b'{"prompt": "\xff\xfe bad utf-8"}\n', "(encoding)", id="invalid_utf8"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000 + b"\n", "(json)", id="nested_100k_deep"),
    pytest.param(_line({**GOOD, "response": [{"role": "assistant", "content": [{"type": "text", "text": 5}]}]}),
                 "response[-1].content[0].text", id="non_string_content_part"),
    pytest.param(_line({**GOOD, "response": [{"role": "assistant", "content": None}]}),
                 "response[-1].content", id="content_null"),
    pytest.param(_line({**GOOD, "response": [{"role": "assistant", "content": [1, 2]}]}),
                 "response[-1].content[0]", id="content_list_of_numbers"),
    pytest.param(b"   \n", "(line)", id="blank_line"),
    pytest.param(_line({**GOOD, "kwargs": [{"forbidden_words": ["(a|aa)+$"]}], "response": "a" * 40 + "!",
                        "instruction_id_list": ["keywords:forbidden_words"]}), "response", id="catastrophic_regex"),
    pytest.param(_line({**GOOD, "kwargs": [{"keywords": ["k" * 1_000_000]}]}), "kwargs[0]", id="megabyte_param"),
]


@pytest.mark.parametrize(("bad", "field"), HOSTILE_LINES)
def test_check__one_bad_line_is_one_named_error(tmp_path, bad, field):
    done, records = _run(tmp_path, [_line(GOOD), bad, _line(GOOD)])
    assert done.exit_code == 1, done.output
    assert [r["line"] for r in records] == [1, 2, 3]
    _assert_scored(records[0], 1)
    _assert_scored(records[2], 3)
    assert records[1]["error"]["field"] == field, records[1]["error"]
    assert len(records[1]["error"]["problem"]) < 1000
    message = [line for line in done.output.splitlines() if line.startswith("line 2:")]
    assert len(message) == 1 and len(message[0]) < 1000


def test_check__utf8_bom_on_line_one_is_accepted(tmp_path):
    done, records = _run(tmp_path, [b"\xef\xbb\xbf" + _line(GOOD), _line(GOOD)])
    assert done.exit_code == 0, done.output
    _assert_scored(records[0], 1)


def test_check__lone_surrogate_in_a_response_is_written_escaped(tmp_path):
    bad = b'{"prompt": "p", "response": "hello \\ud800 world", "instruction_id_list": ["keywords:existence"], ' \
          b'"kwargs": [{"keywords": ["hello"]}]}\n'
    done, records = _run(tmp_path, [_line(GOOD), bad, _line(GOOD)])
    assert done.exit_code == 0, done.output
    assert records[1]["response"] == "hello \ud800 world" and len(records) == 3
    assert json.loads(done.output[done.output.index("{"):])["rows"] == 3


def test_check__invalid_utf8_in_responses_is_one_error(tmp_path):
    rows = [_line({k: v for k, v in GOOD.items() if k != "response"} | {"prompt": p}) for p in ("a", "b")]
    responses = [_line({"prompt": "a", "response": "hello"}), b'{"prompt": "\xff"}\n',
                 _line({"prompt": "b", "response": "hello"}), _line({"prompt": "unused", "response": "x"})]
    done, records = _run(tmp_path, rows, responses=responses)
    assert done.exit_code == 1
    _assert_scored(records[0], 1)
    _assert_scored(records[1], 2)
    assert "responses line 2: (encoding)" in done.output
    assert "1 response(s) matched no input prompt (responses line(s) 4)" in done.output


def test_check__join_failure_record_keeps_key_and_prompt(tmp_path):
    row = {k: v for k, v in GOOD.items() if k != "response"} | {"prompt": "missing", "key": 7}
    done, records = _run(tmp_path, [_line(row)], responses=[_line({"prompt": "other", "response": "x"})])
    assert done.exit_code == 1
    assert records[0]["key"] == 7 and records[0]["prompt"] == "missing" and records[0]["error"]["field"] == "response"


def test_check__unwritable_results_fails_before_scoring(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(_line(GOOD))
    done = CliRunner().invoke(main, ["check", str(source), "--results", str(source / "out.jsonl")])
    assert done.exit_code == 1 and "cannot write --results" in done.output
    assert "Traceback" not in done.output and "prompt" not in done.output.lower()  # no summary: nothing scored
