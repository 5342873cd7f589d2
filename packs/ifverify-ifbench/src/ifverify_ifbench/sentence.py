"""IFBench's ``sentence:*`` instructions: per-sentence growth and a keyword in the N-th sentence."""

from __future__ import annotations

import random
import re
from itertools import pairwise
from typing import Any

from ifverify_ifbench._base import (
    COUNT,
    DELETE_PUNCT,
    POSITIVE,
    PUNCT_SPACE,
    IFBenchAlias,
    IFBenchConstraint,
    TwoSentences,
    iter_sentences,
    nth_sentence,
    plural,
    schema,
    sentences,
)


def _alliteration(sentence: str) -> int:
    """IFBench's alliteration score: over the lower-cased whitespace words with leading punctuation
    stripped (empty ones dropped), each run of consecutive words sharing a first letter scores its
    length (2 for a pair, +1 per further word)."""
    found = [w for w in (word.lstrip(PUNCT_SPACE) for word in sentence.lower().split()) if w]
    score, running = 0, False
    for a, b in pairwise(found):
        if a[0] == b[0]:
            score += 1 if running else 2
            running = True
        else:
            running = False
    return score


class AlliterationIncrement(TwoSentences):
    """Each Punkt sentence has a strictly higher alliteration score than the one before (the first must
    score above -1, so any first sentence passes).

    ifbench: a single sentence passes vacuously.  native: at least two sentences are required.
    """

    id = "ifbench.sentence_alliteration_increment"
    aliases = (IFBenchAlias("sentence:alliteration_increment"),)
    templates = ("Give each sentence a longer run of alliterative words than the sentence before.",)

    def check_ifbench(self, text: str) -> bool:
        previous = -1
        for sentence in iter_sentences(text):  # stops at the first score that does not grow
            score = _alliteration(sentence)
            if score <= previous:
                return False
            previous = score
        return True

    def observe(self, text: str) -> str:
        return "alliteration scores: " + " ".join(str(_alliteration(s)) for s in sentences(text)[:12])


def _sentence_words(sentence: str) -> int:
    return len(sentence.translate(DELETE_PUNCT).split())


class Increment(TwoSentences):
    """Each Punkt sentence has exactly ``small_n`` more words than the one before (words: whitespace
    tokens after ASCII punctuation is deleted).

    ifbench: a single sentence passes vacuously (and IFBench raises on a text without sentences, which
    fails here).  native: at least two sentences are required.
    """

    id = "ifbench.sentence_increment"
    aliases = (IFBenchAlias("sentence:increment"),)
    params_schema = schema({"small_n": COUNT}, ("small_n",))
    templates = ("Each sentence must contain exactly {small_n} more words than the previous one.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"small_n": rng.randint(1, 5)}

    def check_ifbench(self, text: str) -> bool:
        step, previous = self.params["small_n"], None
        for sentence in iter_sentences(text):  # stops at the first count off the step
            count = _sentence_words(sentence)
            if previous is not None and count != previous + step:
                return False
            previous = count
        return previous is not None

    def observe(self, text: str) -> str:
        return "words per sentence: " + " ".join(str(_sentence_words(s)) for s in sentences(text)[:12])


class Keyword(IFBenchConstraint):
    """The ``N``-th Punkt sentence contains ``word`` (case-insensitive, on ``\\b`` word boundaries)."""

    id = "ifbench.sentence_keyword"
    aliases = (IFBenchAlias("sentence:keyword"),)
    params_schema = schema({"word": {"type": "string", "minLength": 1}, "N": POSITIVE}, ("word", "N"))
    templates = ("Include the keyword \"{word}\" in sentence number {N}.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"word": rng.choice(["river", "lantern", "echo"]), "N": rng.randint(1, 20)}

    def _prepare(self) -> None:
        self._pattern = re.compile(rf"\b{re.escape(self.params['word'])}\b", re.IGNORECASE)
        self._anywhere = re.compile(re.escape(self.params["word"]), re.IGNORECASE)

    def check_ifbench(self, text: str) -> bool:
        if self._anywhere.search(text) is None:  # then no sentence of the text holds it: no need to split
            return False
        sentence = nth_sentence(text, self.params["N"])
        return sentence is not None and self._pattern.search(sentence) is not None

    def observe(self, text: str) -> str:
        return plural(len(sentences(text)), "sentence")


TYPES = (AlliterationIncrement, Increment, Keyword)
