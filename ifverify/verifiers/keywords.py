"""Keyword families: presence or absence of keywords, keyword frequency, letter frequency."""

from __future__ import annotations

import random
import re
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint
from ifverify.verifiers._regex import SafePattern
from ifverify.verifiers._schema import (
    COUNT,
    RELATION,
    SEARCHED,
    SEMANTICS,
    WORDS,
    compile_ifeval,
    obj,
    relation_holds,
    sample_relation,
    word_pattern,
)

_IFEVAL: dict[str, Any] = {"semantics": "ifeval"}


class KeywordPresence(HardConstraint):
    """Every keyword appears (``mode: include``) or none does (``mode: exclude``), case-insensitively.

    Native semantics match each keyword literally as a whole word: "cat" does not match "category",
    and "C++" is not a regex.  IFEval semantics feed the keyword to ``re.search`` unescaped, as a
    substring for ``include`` and between ``\\b`` anchors for ``exclude``.
    """

    id = "keywords.presence"
    family = "keywords"
    description = "Include every listed keyword, or avoid every listed keyword."
    aliases = (
        Alias("keywords:existence", fixed={"mode": "include", **_IFEVAL}),
        Alias("keywords:forbidden_words", fixed={"mode": "exclude", **_IFEVAL},
              rename={"forbidden_words": "keywords"}),
    )
    params_schema = obj(["keywords"],
                        keywords={"type": "array", "items": SEARCHED, "minItems": 1, "maxItems": 64},
                        mode={"enum": ["include", "exclude"], "default": "include"},
                        semantics=SEMANTICS)
    templates = ("Include the keywords {keywords} in the response.",)
    exclude_templates = ("Do not include the keywords {keywords} in the response.",)

    @classmethod
    def check_params(cls, params: dict[str, Any], name: str) -> None:
        cls._compile(params, name)

    @staticmethod
    def _compile(params: dict[str, Any], name: str) -> list[re.Pattern[str] | SafePattern]:
        words = params["keywords"]
        if params["semantics"] == "native":
            return [word_pattern(w) for w in words]
        param = "forbidden_words" if name == "keywords:forbidden_words" else "keywords"
        if params["mode"] == "include":
            return [compile_ifeval(name, param, w, w, re.IGNORECASE) for w in words]
        return [compile_ifeval(name, param, w, r"\b" + w + r"\b", re.IGNORECASE) for w in words]

    def _prepare(self) -> None:
        self._patterns = self._compile(self.params, self.alias or self.id)

    def check(self, text: str) -> bool:
        found = (p.search(text) is not None for p in self._patterns)
        return all(found) if self.params["mode"] == "include" else not any(found)

    def observe(self, text: str) -> str:
        hits = [w for w, p in zip(self.params["keywords"], self._patterns, strict=True) if p.search(text)]
        return f"found: {', '.join(hits) or 'none'}"

    def instruction(self) -> str:
        if self.params["mode"] == "exclude":
            return self.exclude_templates[0].format(keywords=", ".join(self.params["keywords"]))
        return super().instruction()

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"keywords": rng.sample(WORDS, rng.randint(1, 3)), "mode": rng.choice(["include", "exclude"])}


class KeywordFrequency(HardConstraint):
    """A keyword occurs fewer than / at least ``frequency`` times, case-insensitively.

    Native semantics count whole-word literal matches; IFEval semantics count ``re.findall`` matches of
    the stripped keyword used as a regex (so "cat" also counts inside "category").
    """

    id = "keywords.frequency"
    family = "keywords"
    description = "A keyword must appear fewer than, or at least, N times."
    aliases = (Alias("keywords:frequency", fixed=_IFEVAL),)
    params_schema = obj(["keyword", "frequency", "relation"],
                        keyword=SEARCHED, frequency=COUNT, relation=RELATION, semantics=SEMANTICS)
    templates = ("In your response, the word {keyword} should appear {relation} {frequency} times.",)

    @classmethod
    def check_params(cls, params: dict[str, Any], name: str) -> None:
        cls._compile(params, name)

    @staticmethod
    def _compile(params: dict[str, Any], name: str) -> re.Pattern[str] | SafePattern:
        keyword = params["keyword"].strip()
        if params["semantics"] == "native":
            return word_pattern(keyword)
        return compile_ifeval(name, "keyword", params["keyword"], keyword, re.IGNORECASE)

    def _prepare(self) -> None:
        self._pattern = self._compile(self.params, self.alias or self.id)

    def count(self, text: str) -> int:
        return len(self._pattern.findall(text))

    def check(self, text: str) -> bool:
        return relation_holds(self.count(text), self.params["relation"], self.params["frequency"])

    def observe(self, text: str) -> str:
        return f"{self.params['keyword']!r} appears {self.count(text)} time(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"keyword": rng.choice(WORDS), "frequency": rng.randint(1, 5), "relation": sample_relation(rng)}


class LetterFrequency(HardConstraint):
    """A character occurs fewer than / at least ``frequency`` times, counted case-insensitively.

    The count is over the lower-cased response.  IFEval replaces a non-letter target with a random
    letter; ifverify never does: it counts the character it was given.
    """

    id = "keywords.letter_frequency"
    family = "keywords"
    description = "A letter must appear fewer than, or at least, N times."
    aliases = (Alias("keywords:letter_frequency",
                     rename={"let_frequency": "frequency", "let_relation": "relation"}),)
    params_schema = obj(["letter", "frequency", "relation"],
                        letter={"type": "string", "minLength": 1, "maxLength": 1, "pattern": r"\S"},
                        frequency=COUNT, relation=RELATION)
    templates = ("In your response, the letter {letter} should appear {relation} {frequency} times.",)

    def _prepare(self) -> None:
        self._letter = self.params["letter"].lower()

    def count(self, text: str) -> int:
        return text.lower().count(self._letter)

    def check(self, text: str) -> bool:
        return relation_holds(self.count(text), self.params["relation"], self.params["frequency"])

    def observe(self, text: str) -> str:
        return f"{self._letter!r} appears {self.count(text)} time(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"letter": rng.choice("abcdefghijklmnopqrstuvwxyz"), "frequency": rng.randint(1, 12),
                "relation": sample_relation(rng)}


TYPES = (KeywordPresence, KeywordFrequency, LetterFrequency)
