"""Hostile input to the hard checkers: catastrophic regexes, quadratic scans, unbounded memos.

Each test bounds time generously (a busy CI machine must not flake) and checks the answer, not only
that something came back.
"""

from __future__ import annotations

import pickle
import random
import re
import time

import pytest

from ifverify.constraints.base import ParamsError, short_repr
from ifverify.constraints.registry import default_registry
from ifverify.rewards.scoring import loose_verdict, strict_verdict
from ifverify.verifiers import text as tx
from ifverify.verifiers._memo import TextMemo
from ifverify.verifiers._regex import PatternBudgetError, SafePattern
from ifverify.verifiers.format import find_titles

#: Seconds within which anything here must answer (the budget of one search is 0.2 s).
BOUND = 10.0

CATASTROPHIC = [
    pytest.param("keywords:existence", {"keywords": ["(a|aa)+$"]}, id="existence"),
    pytest.param("keywords:forbidden_words", {"forbidden_words": ["(a|aa)+$"]}, id="forbidden_words"),
    pytest.param("keywords:frequency", {"keyword": "(a|aa)+$", "frequency": 1, "relation": "at least"},
                 id="frequency"),
    pytest.param("detectable_format:multiple_sections", {"section_spliter": "(a|aa)+$", "num_sections": 2},
                 id="multiple_sections"),
    pytest.param("detectable_content:postscript", {"postscript_marker": "(a|aa)+$"}, id="postscript"),
    pytest.param("format.json", {"schema": {"type": "string", "pattern": "^(a|aa)+$"}}, id="json_schema_pattern"),
    pytest.param("format.json", {"schema": {"type": "object", "patternProperties": {"^(a|aa)+$": {}},
                                            "additionalProperties": False}}, id="json_schema_pattern_properties"),
]


def _timed(func, *args):
    start = time.perf_counter()
    try:
        out = func(*args)
    except Exception as exc:  # returned, so the test can assert on it
        out = exc
    return out, time.perf_counter() - start


@pytest.mark.parametrize(("name", "params"), CATASTROPHIC)
def test_catastrophic_pattern__fails_the_sample_in_bounded_time(name, params):
    constraint = default_registry().build(name, params)
    attack = '"' + "a" * 40 + '!"' if "schema" in params and params["schema"]["type"] == "string" else "a" * 40 + "!"
    if "patternProperties" in str(params):
        attack = '{"' + "a" * 40 + '!": 1}'
    for verdict in (strict_verdict, loose_verdict):
        out, took = _timed(verdict, constraint, attack)
        assert took < BOUND
        assert isinstance(out, PatternBudgetError), out
        assert "ran past its" in str(out) and len(str(out)) < 400


def test_issue_example__existence_on_nested_plus_answers_and_is_false():
    constraint = default_registry().build("keywords:existence", {"keywords": ["(a+)+$"]})
    out, took = _timed(strict_verdict, constraint, "a" * 28 + "!")
    assert took < BOUND
    assert out is False  # the bounded engine answers this one outright, as re would (after minutes)


ORDINARY = ["colou?r", "cat|dog", r"a.c", r"\d+", r"[Hh]ello", r"^The", r"end$", r"(ab)+", r"\bit\b", r"s\w+"]
TEXTS = ["The colour of a cat", "abc 123 hello", "Hello ababab end", "it is It\nThe end", "ſun Kelvin", "",
         "İstanbul ıi", "a\u0301bc sun"]


@pytest.mark.parametrize("pattern", ORDINARY)
def test_bounded_engine__agrees_with_re_on_ordinary_patterns(pattern):
    for flags in (0, re.IGNORECASE, re.MULTILINE):
        ours = SafePattern(pattern, flags)
        theirs = re.compile(pattern, flags)
        for text in TEXTS:
            assert (ours.search(text) is None) == (theirs.search(text) is None), (pattern, text)
            assert ours.findall(text) == theirs.findall(text), (pattern, text)
            assert ours.split(text) == theirs.split(text), (pattern, text)


def test_plain_keywords__run_on_re_itself():
    """Plain keywords (every IFEval row) keep re's exact semantics, here its i/ı case folding."""
    constraint = default_registry().build("keywords:existence", {"keywords": ["i"]})
    assert strict_verdict(constraint, "ı") is bool(re.search("i", "ı", re.IGNORECASE))


def test_safe_pattern__pickles():
    pattern = pickle.loads(pickle.dumps(SafePattern("a|b", re.IGNORECASE, "x")))
    assert pattern.findall("A b") == ["A", "b"]


def test_title__equals_the_reference_regex():
    regex = re.compile(r"<<[^\n]+>>")
    rng = random.Random(7)
    for _ in range(20000):
        text = "".join(rng.choice("<> a\n\r") for _ in range(rng.randint(0, 30)))
        assert find_titles(text) == regex.findall(text), text


@pytest.mark.parametrize(("text", "expected"), [("<" * 1_000_000, False), ("<<" + "x" * 1_000_000, False),
                                              (("<<" + ">" * 3) * 200_000, True), ("<< " * 300_000 + ">>", True),
                                              ("<<\n>>" * 150_000, False)])
def test_title__linear_on_megabyte_input(text, expected):
    constraint = default_registry().build("detectable_format:title")
    out, took = _timed(strict_verdict, constraint, text)
    assert took < BOUND
    assert out is expected


def test_sentences__repeated_abbreviations_are_bounded():
    constraint = default_registry().build("length.sentences", {"num_sentences": 3, "relation": "at least"})
    out, took = _timed(strict_verdict, constraint, "Mr. " * 250_000)
    assert took < BOUND
    assert out is False  # "Mr." never ends a sentence: one sentence


def test_text_memo__bounded_by_characters():
    memo = TextMemo(entries=1000, chars=1_000_000, max_text=300_000)
    for i in range(50):
        memo.put(str(i) * 250_000, 250_000, i)
    assert memo.chars_used <= 1_000_000 and len(memo) <= 4
    memo.put("x" * 400_000, 400_000, 1)
    assert memo.get("x" * 400_000, None) is None


def test_sentence_memo__does_not_keep_megabyte_texts():
    tx.sentences.cache_clear()
    for i in range(5):
        tx.sentences(f"{i} " + "Hello there. " * 80_000)
    assert tx.sentences.memo.chars_used == 0


def test_params__searched_text_is_capped_and_errors_are_short():
    with pytest.raises(ParamsError) as caught:
        default_registry().build("keywords:existence", {"keywords": ["k" * 1_000_000]})
    assert len(str(caught.value)) < 400 and "at most 128" in str(caught.value)
    assert len(short_repr("x" * 1_000_000)) < 120


def test_json_schema__too_large_or_unboundable_is_refused():
    with pytest.raises(ParamsError, match="at most 65,536"):
        default_registry().build("format.json", {"schema": {"enum": ["x" * 70_000]}})
    with pytest.raises(ParamsError, match="unevaluatedProperties"):
        default_registry().build("format.json", {"schema": {"patternProperties": {"a": {}},
                                                            "unevaluatedProperties": False}})


def test_bullets_and_placeholders__equal_the_reference_regexes():
    from ifverify.verifiers.content import count_placeholders
    from ifverify.verifiers.format import count_bullets

    star, dash = re.compile(r"^\s*\*[^\*].*$", re.M), re.compile(r"^\s*-.*$", re.M)
    placeholder = re.compile(r"\[.*?\]")
    rng = random.Random(5)
    for _ in range(30000):
        text = "".join(rng.choice("*-\n \t\ra[]\x0b\x1c\u2028\u0085") for _ in range(rng.randint(0, 14)))
        assert count_bullets(text) == len(star.findall(text)) + len(dash.findall(text)), text
        assert count_placeholders(text) == len(placeholder.findall(text)), text


@pytest.mark.parametrize("text", ["\n-" * 500_000, "[a] " * 250_000, "[" * 1_000_000, "\n" * 1_000_000,
                                  "*\n" * 500_000, "It is. " * 150_000, "A " * 500_000])
def test_line_scans__bounded_on_megabyte_input(text):
    registry = default_registry()
    for name, params in [("detectable_format:number_bullet_lists", {"num_bullets": 3}),
                         ("detectable_content:number_placeholders", {"num_placeholders": 2}),
                         ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": "at least"})]:
        out, took = _timed(loose_verdict, registry.build(name, params), text)
        assert took < BOUND and out in (True, False)
