"""text.py's shortcuts around the tokenizers: the capital-word pre-filter and bounds, and the sentence
bound, against NLTK's counts."""

from __future__ import annotations

import re
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tokenize import HARD_CHARACTERS, HARD_PROSE, nltk_tokenizers, nltk_words

from ifverify.verifiers import text as tx

TEXTS = st.one_of(HARD_PROSE, HARD_CHARACTERS, HARD_PROSE.map(str.upper))


def test_non_word_upper_case__is_every_upper_case_character_outside_re_word() -> None:
    word = re.compile(r"\w")
    expected = {chr(point) for point in range(sys.maxunicode + 1)
                if chr(point).isupper() and not word.match(chr(point))}
    assert {char for char in expected if tx._NON_WORD_UPPER_RE.match(char)} == expected
    assert all(tx._NON_WORD_UPPER_RE.match(chr(point)).group() in expected  # type: ignore[union-attr]
               for point in range(sys.maxunicode + 1) if tx._NON_WORD_UPPER_RE.match(chr(point)))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS)
def test_count_capital_words__is_nltk_count_and_within_bounds(text: str) -> None:
    expected = sum(1 for token in nltk_words(text) if token.isupper())
    assert tx.count_capital_words(text) == expected
    low, high = tx.capital_words_bounds(text)
    assert low <= expected <= high


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS)
def test_sentence_counts__are_nltk_counts_within_the_bound(text: str) -> None:
    expected = len(nltk_tokenizers()[0].tokenize(text))
    assert tx.count_sentences(text) == expected == len(tx.sentences(text))
    assert expected <= tx.max_sentences(text)
    assert tx.word_tokens(text) == nltk_words(text)
