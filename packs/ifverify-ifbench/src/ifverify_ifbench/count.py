"""IFBench's ``count:*`` instructions: how many words, numbers, names, pronouns, conjunctions, keywords."""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar

from ifverify_ifbench._base import (
    COUNT,
    POSITIVE,
    PUNCT,
    TEXT,
    IFBenchAlias,
    IFBenchConstraint,
    OffenderCheck,
    count_words,
    lazy_word_tokens,
    plural,
    schema,
    strip_punct,
    word_tokens,
)

_CONJUNCTIONS = frozenset({"and", "but", "for", "nor", "or", "so", "yet"})


class Conjunctions(IFBenchConstraint):
    """At least ``small_n`` different coordinating conjunctions (and, but, for, nor, or, so, yet).

    A word is a whitespace-separated token; it is a conjunction when, stripped of ASCII punctuation and
    lower-cased, it is one of the seven.  ifbench: the *raw* tokens are counted as distinct, so "and",
    "And" and "and," are three.  native: the stripped, lower-cased conjunctions are counted.
    """

    id = "ifbench.count_conjunctions"
    aliases = (IFBenchAlias("count:conjunctions"),)
    params_schema = schema({"small_n": COUNT}, ("small_n",))
    templates = ("Use at least {small_n} different coordinating conjunctions.",)
    fixed = "different spellings of one conjunction ('and', 'And', 'and,') count once"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"small_n": rng.randint(2, 6)}

    def _raw(self, text: str) -> list[str]:
        return [w for w in text.split() if strip_punct(w).lower() in _CONJUNCTIONS]

    def check_ifbench(self, text: str) -> bool:
        return len(set(self._raw(text))) >= self.params["small_n"]

    def check_native(self, text: str) -> bool:
        return len({strip_punct(w).lower() for w in self._raw(text)}) >= self.params["small_n"]

    def observe(self, text: str) -> str:
        return "conjunctions: " + (", ".join(sorted({strip_punct(w).lower() for w in self._raw(text)})) or "none")


class KeywordsMultiple(IFBenchConstraint):
    """keyword1 once, keyword2 twice, keyword3 three times, keyword4 five times, keyword5 seven times.

    ifbench: occurrences are case-insensitive *substring* counts ("nebulae" counts as "nebula").
    native: whole-word, case-insensitive counts.  Keywords are stripped of surrounding whitespace.
    """

    id = "ifbench.count_keywords_multiple"
    aliases = (IFBenchAlias("count:keywords_multiple"),)
    params_schema = schema({f"keyword{i}": TEXT for i in range(1, 6)}, tuple(f"keyword{i}" for i in range(1, 6)))
    templates = ("Include the keyword {keyword1} once, {keyword2} twice, {keyword3} three times, "
                 "{keyword4} five times and {keyword5} seven times.",)
    fixed = "keywords are counted as whole words, not substrings"
    _TIMES: ClassVar[tuple[int, ...]] = (1, 2, 3, 5, 7)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        pool = ["river", "lantern", "echo", "harbor", "meadow", "signal", "copper", "orbit"]
        return {f"keyword{i + 1}": word for i, word in enumerate(rng.sample(pool, 5))}

    def _keywords(self) -> list[str]:
        return [self.params[f"keyword{i}"].strip() for i in range(1, 6)]

    def _counts(self, text: str, native: bool) -> list[int]:
        lower = text.lower()
        if not native:
            return [lower.count(k.lower()) for k in self._keywords()]
        return [len(re.findall(rf"(?<!\w){re.escape(k.lower())}(?!\w)", lower)) if k else 0
                for k in self._keywords()]

    def check_ifbench(self, text: str) -> bool:
        return self._counts(text, False) == list(self._TIMES)

    def check_native(self, text: str) -> bool:
        return self._counts(text, True) == list(self._TIMES)

    def observe(self, text: str) -> str:
        native = self.params["semantics"] == "native"
        return ", ".join(f"{k!r} x{n}" for k, n in zip(self._keywords(), self._counts(text, native), strict=True))


class Numbers(IFBenchConstraint):
    """Exactly ``N`` numbers: runs of digits after every ASCII punctuation character is deleted
    (so "3.14" is one number and "10-20" is one number, "1020")."""

    id = "ifbench.count_numbers"
    aliases = (IFBenchAlias("count:numbers"),)
    params_schema = schema({"N": COUNT}, ("N",))
    templates = ("Include exactly {N} numbers in your response.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"N": rng.randint(1, 6)}

    def _count(self, text: str) -> int:
        return len(re.findall(r"\d+", text.translate(_DELETE_PUNCT)))

    def check_ifbench(self, text: str) -> bool:
        return self._count(text) == self.params["N"]

    def observe(self, text: str) -> str:
        return plural(self._count(text), "number")


_DELETE_PUNCT = str.maketrans("", "", PUNCT)
_NAMES = ("Emma Liam Sophia Jackson Olivia Noah Ava Lucas Isabella Mason Mia Ethan Charlotte Alexander Amelia "
          "Benjamin Harper Leo Zoe Daniel Chloe Samuel Lily Matthew Grace Owen Abigail Gabriel Ella Jacob "
          "Scarlett Nathan Victoria Elijah Layla Nicholas Audrey David Hannah Christopher Penelope Thomas Nora "
          "Andrew Aria Joseph Claire Ryan Stella Jonathan").split()
#: One pass finds them all: the names are whole words (``\b`` both sides), so at any position at most one
#: of them can match, and scanning without overlaps misses none of IFBench's per-name searches.
_NAMES_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, _NAMES)) + r")\b")


class PersonNames(IFBenchConstraint):
    """At least ``N`` different names from IFBench's fixed list of 50, each matched case-sensitively on
    ``\\b`` word boundaries ("Mia" is not found in "Miami")."""

    id = "ifbench.count_person_names"
    aliases = (IFBenchAlias("count:person_names"),)
    params_schema = schema({"N": COUNT}, ("N",))
    templates = ("Mention at least {N} different person names from this list: " + ", ".join(_NAMES) + ".",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"N": rng.randint(1, 10)}

    def _found(self, text: str) -> set[str]:
        return set(_NAMES_RE.findall(text))

    def check_ifbench(self, text: str) -> bool:
        return len(self._found(text)) >= self.params["N"]

    def observe(self, text: str) -> str:
        return plural(len(self._found(text)), "listed name")


_PRONOUNS = frozenset(
    "i me we us you he him she her it they them my mine our ours your yours his hers its their theirs "
    "myself ourselves yourself yourselves himself herself itself themselves this that these those who whom "
    "whose which what whoever whomever whatever whichever anybody anyone anything everybody everyone "
    "everything nobody nothing somebody someone something each either neither both all some any none".split())


class Pronouns(IFBenchConstraint):
    """At least ``N`` pronouns: ``word_tokenize`` tokens of the lower-cased text (with "/" read as a space)
    that are in IFBench's list of pronouns (personal, possessive, reflexive, demonstrative,
    interrogative, relative, indefinite)."""

    id = "ifbench.count_pronouns"
    aliases = (IFBenchAlias("count:pronouns"),)
    params_schema = schema({"N": COUNT}, ("N",))
    templates = ("Use at least {N} pronouns in your response.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"N": rng.randint(1, 25)}

    def _count(self, text: str) -> int:
        return sum(1 for token in word_tokens(text.replace("/", " ").lower()) if token in _PRONOUNS)

    def check_ifbench(self, text: str) -> bool:
        # _count(text) >= N, deciding at the N-th pronoun rather than after tokenizing the whole text.
        need, found = self.params["N"], 0
        if found >= need:
            return True
        for token in lazy_word_tokens(text.replace("/", " ").lower()):
            if token in _PRONOUNS:
                found += 1
                if found >= need:
                    return True
        return False

    def observe(self, text: str) -> str:
        return plural(self._count(text), "pronoun")


_MARKS = frozenset(".,!?;:")


class Punctuation(IFBenchConstraint):
    """Every one of . , ! ? ; : at least once, plus an interrobang ("?!", "!?" or "‽").  One "?!" (else one
    "!?") is taken out before the six marks are looked for, so it does not count as "?" and "!"."""

    id = "ifbench.count_punctuation"
    aliases = (IFBenchAlias("count:punctuation"),)
    templates = ("Use every standard punctuation mark at least once: . , ! ? ; : and an interrobang (?!).",)

    def _missing(self, text: str) -> list[str]:
        if not ("!?" in text or "?!" in text or "‽" in text):
            return ["interrobang"]
        rest = text.replace("?!", "", 1)
        if len(rest) == len(text):
            rest = text.replace("!?", "", 1)
        return sorted(_MARKS - set(rest))

    def check_ifbench(self, text: str) -> bool:
        return not self._missing(text)

    def observe(self, text: str) -> str:
        missing = self._missing(text)
        return "missing: " + " ".join(missing) if missing else "all marks present"


class UniqueWords(IFBenchConstraint):
    """At least ``N`` unique words: lower-cased whitespace tokens stripped of ASCII punctuation (a token
    of punctuation only, such as "—"'s neighbour "-", becomes "" and counts as one word)."""

    id = "ifbench.count_unique_word_count"
    aliases = (IFBenchAlias("count:unique_word_count"),)
    params_schema = schema({"N": COUNT}, ("N",))
    templates = ("Use at least {N} unique words in your response.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"N": rng.randint(20, 300)}

    def _count(self, text: str) -> int:
        return len({strip_punct(w) for w in text.lower().split()})

    def check_ifbench(self, text: str) -> bool:
        return self._count(text) >= self.params["N"]

    def observe(self, text: str) -> str:
        return plural(self._count(text), "unique word")


class WordCountRange(IFBenchConstraint):
    """Between ``min_words`` and ``max_words`` words (inclusive), a word being a run of ``\\w``."""

    id = "ifbench.count_word_count_range"
    aliases = (IFBenchAlias("count:word_count_range"),)
    params_schema = schema({"min_words": COUNT, "max_words": COUNT}, ("min_words", "max_words"))
    templates = ("Your response must contain between {min_words} and {max_words} words.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        low = rng.randint(100, 500)
        return {"min_words": low, "max_words": low + rng.randint(low // 20, low // 10)}

    def check_ifbench(self, text: str) -> bool:
        return self.params["min_words"] <= count_words(text) <= self.params["max_words"]

    def observe(self, text: str) -> str:
        return plural(count_words(text), "word")


_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


class WordsJapanese(OffenderCheck):
    """Every ``N``-th whitespace token holds a Japanese character (hiragana, katakana or a CJK ideograph, so
    Chinese passes too), unless it is empty or all digits once stripped of ASCII punctuation."""

    id = "ifbench.count_words_japanese"
    aliases = (IFBenchAlias("count:words_japanese"),)
    params_schema = schema({"N": POSITIVE}, ("N",))
    templates = ("Every {N}th word of your response must be in Japanese.",)
    clean = "every checked word is Japanese"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"N": rng.randint(2, 30)}

    def offender(self, text: str) -> str | None:
        n = self.params["N"]
        for i, word in enumerate(text.split()):
            if (i + 1) % n == 0:
                word = strip_punct(word)
                if word and not word.isdigit() and not _JAPANESE.search(word):
                    return f"word {i + 1} ({word!r}) is not Japanese"
        return None


TYPES = (Conjunctions, KeywordsMultiple, Numbers, PersonNames, Pronouns, Punctuation, UniqueWords, WordCountRange,
         WordsJapanese)
