"""Length family: sentences, paragraphs, words, and the first word of the n-th paragraph."""

from __future__ import annotations

import random
import re
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint, ParamsError
from ifverify.verifiers import text as tx
from ifverify.verifiers._schema import COUNT, POSITIVE, RELATION, SEARCHED, WORDS, obj, relation_holds

_DIVIDER_RE = re.compile(r"\s?\*\*\*\s?")
_FIRST_WORD_STOP = frozenset(".,?!'\"")


class SentenceCount(HardConstraint):
    """Fewer than / at least ``num_sentences`` sentences, by NLTK's English Punkt model.

    Blank text has no sentences.  Punkt only ever breaks after ``.``, ``?`` or ``!``, so a text with
    fewer of those than the threshold is decided without it, and otherwise Punkt stops reading at the
    threshold-th sentence.
    """

    id = "length.sentences"
    family = "length"
    description = "The response has fewer than, or at least, N sentences."
    aliases = (Alias("length_constraints:number_sentences"),)
    params_schema = obj(["num_sentences", "relation"], num_sentences=COUNT, relation=RELATION)
    templates = ("Your response should contain {relation} {num_sentences} sentences.",)

    def check(self, text: str) -> bool:
        relation, n = self.params["relation"], self.params["num_sentences"]
        if tx.max_sentences(text) < n:  # decided by the bound alone
            return relation == "less than"
        return relation_holds(tx.count_sentences_upto(text, n), relation, n)

    def observe(self, text: str) -> str:
        n = self.params["num_sentences"]
        found = tx.count_sentences_upto(text, n + 1)  # counting past n + 1 would change no verdict
        return f"more than {n} sentences" if found > n else f"{found} sentence(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["less than", "at least"])
        return {"relation": relation, "num_sentences": rng.randint(2, 8) if relation == "less than"
                else rng.randint(2, 12)}


def divider_paragraphs(text: str) -> int | None:
    """Paragraphs separated by the markdown divider ``***``; None when an inner paragraph is blank.

    Blank pieces before the first or after the last divider are not counted.
    """
    pieces = _DIVIDER_RE.split(text)
    count = len(pieces)
    for index, piece in enumerate(pieces):
        if not piece.strip():
            if index == 0 or index == len(pieces) - 1:
                count -= 1
            else:
                return None
    return count


class ParagraphCount(HardConstraint):
    """Exactly ``num_paragraphs`` paragraphs separated by ``***`` dividers, none of them blank."""

    id = "length.paragraphs"
    family = "length"
    description = "The response has exactly N paragraphs separated by the markdown divider ***."
    aliases = (Alias("length_constraints:number_paragraphs"),)
    params_schema = obj(["num_paragraphs"], num_paragraphs=POSITIVE)
    templates = ("There should be {num_paragraphs} paragraphs. Paragraphs are separated with the markdown "
                 "divider: ***",)

    def check(self, text: str) -> bool:
        return divider_paragraphs(text) == self.params["num_paragraphs"]

    def observe(self, text: str) -> str:
        count = divider_paragraphs(text)
        return "a blank paragraph between dividers" if count is None else f"{count} paragraph(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"num_paragraphs": rng.randint(2, 5)}


class WordCount(HardConstraint):
    """Fewer than / at least ``num_words`` words, a word being a maximal run of ``\\w`` characters."""

    id = "length.words"
    family = "length"
    description = "The response has fewer than, or at least, N words."
    aliases = (Alias("length_constraints:number_words"),)
    params_schema = obj(["num_words", "relation"], num_words=COUNT, relation=RELATION)
    templates = ("Answer with {relation} {num_words} words.",)

    def check(self, text: str) -> bool:
        return relation_holds(tx.count_words(text), self.params["relation"], self.params["num_words"])

    def observe(self, text: str) -> str:
        return f"{tx.count_words(text)} word(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["less than", "at least"])
        return {"relation": relation, "num_words": rng.choice([50, 80, 100, 150, 200, 300])}


def first_word(paragraph: str) -> str:
    """The paragraph's first whitespace-separated word, leading quotes dropped, cut at the first
    ``. , ? ! ' "``, lower-cased (IFEval's rule)."""
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    out = []
    for char in word:
        if char in _FIRST_WORD_STOP:
            break
        out.append(char.lower())
    return "".join(out)


class NthParagraphFirstWord(HardConstraint):
    """Exactly ``num_paragraphs`` paragraphs separated by blank lines (``\\n\\n``), and the
    ``nth_paragraph``-th one starts with ``first_word`` (compared lower-cased, see :func:`first_word`).

    Blank pieces do not count as paragraphs, but the n-th piece is taken from the raw split, as IFEval
    does; a blank n-th piece fails.
    """

    id = "length.nth_paragraph_first_word"
    family = "length"
    description = "N paragraphs separated by blank lines; paragraph i starts with a given word."
    aliases = (Alias("length_constraints:nth_paragraph_first_word"),)
    params_schema = obj(["num_paragraphs", "nth_paragraph", "first_word"],
                        num_paragraphs=POSITIVE, nth_paragraph=POSITIVE, first_word=SEARCHED)
    templates = ("There should be {num_paragraphs} paragraphs. Paragraphs and only paragraphs are separated "
                 "with each other by two new lines. The {nth_paragraph}-th paragraph must start with word "
                 "{first_word}.",)

    @classmethod
    def check_params(cls, params: dict[str, Any], name: str) -> None:
        if params["nth_paragraph"] > params["num_paragraphs"]:
            raise ParamsError(name, "nth_paragraph", params["nth_paragraph"],
                              f"an integer from 1 to num_paragraphs ({params['num_paragraphs']})")

    def _prepare(self) -> None:
        self._word = self.params["first_word"].lower()

    def check(self, text: str) -> bool:
        pieces = text.split("\n\n")
        count = sum(1 for piece in pieces if piece.strip())
        nth = self.params["nth_paragraph"]
        if nth > count:
            return False
        paragraph = pieces[nth - 1].strip()
        if not paragraph:
            return False
        return count == self.params["num_paragraphs"] and first_word(paragraph) == self._word

    def observe(self, text: str) -> str:
        pieces = [p for p in text.split("\n\n") if p.strip()]
        return f"{len(pieces)} paragraph(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        total = rng.randint(2, 5)
        return {"num_paragraphs": total, "nth_paragraph": rng.randint(1, total), "first_word": rng.choice(WORDS)}


TYPES = (SentenceCount, ParagraphCount, WordCount, NthParagraphFirstWord)
