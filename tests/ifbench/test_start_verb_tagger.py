"""words:start_verb under ifbench semantics with a stand-in for NLTK's tagger.

NLTK's perceptron tagger data cannot be installed here, so the official verdicts of the 6 tagged sample rows
cannot be reproduced on this machine.  What can be checked is everything around the tagger: IFBench's check
tags ``nltk.word_tokenize(response)`` whole and passes when the first tag contains "VB" (and fails on a response
with no tokens).  A stand-in ``nltk.pos_tag`` records what it is given, so these tests fail if the pack tags
different tokens or reads the tag differently; with the real data installed the same code calls the real tagger.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("ifverify_ifbench")

from _ifbench_support import pack_registry, read_jsonl  # noqa: E402


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    import nltk
    from ifverify_ifbench import _tagging

    seen: list[list[str]] = []

    def pos_tag(tokens: list[str]) -> list[tuple[str, str]]:
        seen.append(list(tokens))
        verbs = {"Imagine": "VB", "Runs": "VBZ", "Write": "VBP"}
        return [(t, verbs.get(t, "NN")) for t in tokens]

    monkeypatch.setattr(nltk, "pos_tag", pos_tag)
    monkeypatch.setattr(_tagging, "require_nltk_tagger", lambda: None)
    return seen


@pytest.mark.parametrize(("response", "verdict"), [
    ("Imagine a world.", True), ("Runs fast, he said.", True), ("The world is big.", False),
    ("**Write** it down.", False),  # the first token is "*", as word_tokenize gives it
    ("", False), ("   ", False),
])
def test_ifbench_semantics__reads_the_first_tag_of_the_whole_token_list(
        stand_in: list[list[str]], response: str, verdict: bool) -> None:
    from ifverify_ifbench._base import word_tokens

    assert pack_registry().build("words:start_verb", {}).check(response) is verdict
    if word_tokens(response):
        assert stand_in[-1] == word_tokens(response)  # every token, in order: NLTK tags in context
    else:
        assert stand_in == []  # no tokens: no tagging, a fail, as IFBench's len(text) > 0 guard gives


def test_sample_rows__tag_the_tokens_ifbench_would(stand_in: list[list[str]]) -> None:
    from ifverify_ifbench._base import word_tokens

    responses = {r["prompt"].strip(): r["response"] for r in read_jsonl("sample_output.jsonl")}
    rows = [r for r in read_jsonl("IFBench_test.jsonl") if "words:start_verb" in r["instruction_id_list"]]
    checked = 0
    for row in rows:
        response: Any = responses.get(row["prompt"].strip())
        if response is None:
            continue
        built = pack_registry().build("words:start_verb", {})
        built.check(response)
        assert stand_in[-1] == word_tokens(response)
        checked += 1
    assert checked == 6


@pytest.fixture
def no_tagger(monkeypatch: pytest.MonkeyPatch) -> None:
    from ifverify_ifbench import _tagging

    def missing() -> None:
        raise _tagging.MissingDataError("words:start_verb (semantics 'ifbench') needs NLTK's tagger data")

    monkeypatch.setattr(_tagging, "require_nltk_tagger", missing)


def _tagged_rows(tmp_path: Any) -> Any:
    import json

    responses = {r["prompt"].strip(): r["response"] for r in read_jsonl("sample_output.jsonl")}
    rows = [{**r, "response": responses[r["prompt"].strip()]} for r in read_jsonl("IFBench_test.jsonl")
            if "words:start_verb" in r["instruction_id_list"] and r["prompt"].strip() in responses]
    path = tmp_path / "tagged.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, rows


def test_check_skip_unknown__scores_the_rest_of_a_row_whose_constraint_cannot_run(no_tagger: None,
                                                                                 tmp_path: Any) -> None:
    import json

    from click.testing import CliRunner

    from ifverify.cli import cli

    path, rows = _tagged_rows(tmp_path)
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(cli, ["check", str(path), "--skip-unknown", "--results", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("cannot run here") == 1
    assert f"constraint 'words:start_verb' cannot run here: {len(rows)} row(s) left unscored" in result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    official = {r["key"]: r for r in read_jsonl("official_strict.jsonl")}
    both = [r for r in records if len(r["instruction_id_list"]) == 2]
    assert len(both) == 1  # key 262: start_verb and count:person_names
    (record,) = both
    assert record["follow_instruction_list"] == [None, official[record["key"]]["follow_instruction_list"][1]]
    assert record["details"][0]["unscored"] and "needs NLTK's tagger data" in record["details"][0]["reason"]
    assert record["unscored"] == ["words:start_verb"] and "unknown" not in record


def test_check_without_skip_unknown__a_row_that_cannot_run_is_a_named_error(no_tagger: None, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from ifverify.cli import cli

    path, rows = _tagged_rows(tmp_path)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    message = "kwargs[0]: words:start_verb (semantics 'ifbench') needs NLTK's tagger data"
    assert result.stderr.count(message) == len(rows)
