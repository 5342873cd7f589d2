"""IFBench's ``ratio:*`` instructions: proportions of stop words, sentence types, n-gram overlap."""

from __future__ import annotations

import random
from functools import lru_cache
from importlib import resources
from itertools import islice
from typing import Any

import numpy as np

from ifverify_ifbench._base import (
    PERCENT,
    TEXT,
    IFBenchAlias,
    IFBenchConstraint,
    iter_sentences,
    plural,
    schema,
    sentences,
    words,
)

#: Texts at least this long count their character trigrams in numpy (shorter: a set of slices).
_NUMPY_FROM = 128


class Overlap(IFBenchConstraint):
    """A trigram overlap of ``percentage`` +/- 2 points with ``reference_text``: the share of the response's
    distinct trigrams that also occur in the reference (no trigram fails).

    ifbench: *character* trigrams.  native: trigrams of lower-cased words (runs of ``\\w``).
    """

    id = "ifbench.ratio_overlap"
    aliases = (IFBenchAlias("ratio:overlap"),)
    params_schema = schema({"reference_text": TEXT, "percentage": PERCENT}, ("reference_text", "percentage"))
    templates = ("Keep a trigram overlap of {percentage}% (plus or minus 2%) with this reference text: "
                 "{reference_text}",)
    fixed = "trigrams of words, not of characters"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"reference_text": "The quick brown fox jumps over the lazy dog near the river bank.",
                "percentage": rng.randint(1, 100)}

    @staticmethod
    def _grams(items: Any) -> set[tuple[Any, ...]]:
        return set(zip(items, items[1:], items[2:], strict=False))

    @staticmethod
    def _char_grams(text: str) -> set[str]:
        """Character trigrams as 3-character strings (equal exactly when nltk.ngrams' tuples are)."""
        return {text[i:i + 3] for i in range(len(text) - 2)}

    @staticmethod
    def _char_codes(text: str) -> np.ndarray:
        """The distinct character trigrams, sorted, each packed into one integer (three 21-bit code points,
        lone surrogates included): one trigram per code exactly as with :meth:`_char_grams`."""
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
        codes = (points[:-2] << 42) | (points[1:-1] << 21) | points[2:]
        codes.sort()
        return codes[np.concatenate(([True], codes[1:] != codes[:-1]))] if codes.size else codes

    def _prepare(self) -> None:
        self._native = self.params["semantics"] == "native"
        ref = self.params["reference_text"]
        # The reference's trigrams, computed once per instance rather than once per text.
        self._ref_grams: set[Any] = self._grams(words(ref.lower())) if self._native else self._char_grams(ref)
        self._ref_codes = self._char_codes(ref)  # the same trigrams, for long texts (see _share)

    def _share(self, text: str) -> float | None:
        if self._native:
            grams: set[Any] = self._grams(words(text.lower()))
            total, shared = len(grams), len(grams & self._ref_grams)
        elif len(text) < _NUMPY_FROM:
            grams = self._char_grams(text)
            total, shared = len(grams), len(grams & self._ref_grams)
        else:  # the same two counts, about ten times faster on a response of a few thousand characters
            codes = self._char_codes(text)
            total, shared = codes.size, np.intersect1d(codes, self._ref_codes, assume_unique=True).size
        return shared / total if total else None

    def _within(self, share: float | None) -> bool:
        pct = self.params["percentage"]
        return share is not None and pct - 2 <= share * 100 <= pct + 2

    def check_ifbench(self, text: str) -> bool:
        return self._within(self._share(text))  # character or word trigrams, as _prepare chose

    def observe(self, text: str) -> str:
        share = self._share(text)
        return "no trigrams" if share is None else f"overlap {share * 100:.1f}%"


def _ends(text: str) -> tuple[int, int, int]:
    found = sentences(text)
    return (sum(1 for s in found if s.endswith(".")), sum(1 for s in found if s.endswith("?")),
            sum(1 for s in found if s.endswith("!")))


class SentenceBalance(IFBenchConstraint):
    """As many declarative (ending ".") as interrogative ("?") as exclamatory ("!") Punkt sentences.

    ifbench: zero of each passes (a text without terminal punctuation).  native: at least one of each.
    """

    id = "ifbench.ratio_sentence_balance"
    aliases = (IFBenchAlias("ratio:sentence_balance"),)
    templates = ("Balance declarative, interrogative and exclamatory sentences in equal numbers.",)
    fixed = "at least one sentence of each type is required"

    def check_ifbench(self, text: str) -> bool:
        dot, question, bang = _ends(text)
        return dot == question == bang

    def check_native(self, text: str) -> bool:
        dot, question, bang = _ends(text)
        return dot == question == bang > 0

    def observe(self, text: str) -> str:
        return "declarative/interrogative/exclamatory: {}/{}/{}".format(*_ends(text))


class SentenceType(IFBenchConstraint):
    """Twice as many declarative (ending ".") as interrogative ("?") Punkt sentences.

    ifbench: zero of both passes ("Wow! Great!").  native: at least one interrogative sentence.
    """

    id = "ifbench.ratio_sentence_type"
    aliases = (IFBenchAlias("ratio:sentence_type"),)
    templates = ("Keep a 2:1 ratio of declarative to interrogative sentences.",)
    fixed = "at least one interrogative sentence is required"

    def check_ifbench(self, text: str) -> bool:
        dot, question, _ = _ends(text)
        return dot == 2 * question

    def check_native(self, text: str) -> bool:
        dot, question, _ = _ends(text)
        return dot == 2 * question and question > 0

    def observe(self, text: str) -> str:
        dot, question, _ = _ends(text)
        return f"declarative/interrogative: {dot}/{question}"


class SentenceWords(IFBenchConstraint):
    """Exactly three Punkt sentences of the same length in characters (each stripped), with all different
    words.

    ifbench: the words are never compared ("Cat. Cat. Cat." passes).  native: no word (lower-cased run of
    ``\\w``) appears in two of the sentences.
    """

    id = "ifbench.ratio_sentence_words"
    aliases = (IFBenchAlias("ratio:sentence_words"),)
    templates = ("Respond with three sentences of the same number of characters, using all different words.",)
    fixed = "the three sentences must share no word"

    @staticmethod
    def _same_length(found: tuple[str, ...]) -> bool:
        return len(found) == 3 and len({len(s.strip()) for s in found}) == 1

    def check_ifbench(self, text: str) -> bool:
        return self._same_length(tuple(islice(iter_sentences(text), 4)))  # a 4th sentence already fails

    def check_native(self, text: str) -> bool:
        found = sentences(text)
        if not self._same_length(found):
            return False
        seen: set[str] = set()
        for sentence in found:
            own = set(words(sentence.lower()))
            if own & seen:
                return False
            seen |= own
        return True

    def observe(self, text: str) -> str:
        found = sentences(text)
        return plural(len(found), "sentence") + " of lengths " + ", ".join(str(len(s.strip())) for s in found[:5])


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """NLTK's English stop words (179), shipped with the pack as data (``data/stopwords_en.txt``)."""
    data = resources.files("ifverify_ifbench") / "data" / "stopwords_en.txt"
    return frozenset(data.read_text(encoding="utf-8").split())


class StopWords(IFBenchConstraint):
    """Stop words are at most ``percentage``% of the words (runs of ``\\w``; a stop word is one whose
    lower-case form is in NLTK's English list).  A text without words fails."""

    id = "ifbench.ratio_stop_words"
    aliases = (IFBenchAlias("ratio:stop_words"),)
    params_schema = schema({"percentage": PERCENT}, ("percentage",))
    templates = ("Keep stop words to no more than {percentage}% of the words in your response.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"percentage": rng.randint(10, 60)}

    def _share(self, text: str) -> float | None:
        found = words(text)
        if not found:
            return None
        return sum(map(stopwords().__contains__, map(str.lower, found))) / len(found) * 100

    def check_ifbench(self, text: str) -> bool:
        share = self._share(text)
        return share is not None and share <= self.params["percentage"]

    def observe(self, text: str) -> str:
        share = self._share(text)
        return "no words" if share is None else f"stop words {share:.1f}%"


TYPES = (Overlap, SentenceBalance, SentenceType, SentenceWords, StopWords)
