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
