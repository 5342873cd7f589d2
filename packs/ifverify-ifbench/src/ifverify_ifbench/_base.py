"""What every IFBench constraint type shares: the two semantics, the alias form, params helpers and text helpers.

Each IFBench instruction id (``count:numbers``, ``format:emoji``, ...) is one
:class:`~ifverify.constraints.base.HardConstraint` subclass with a native id ``ifbench.<prefix>_<name>`` and
the IFBench id as its alias.  Every type takes one extra param, ``semantics``:

* ``"ifbench"``: the verdicts of IFBench's official evaluation at commit db69a6f, bugs included (the
  default when the type is named by its IFBench id);
* ``"native"``: the known upstream bugs fixed (the default when it is named by its native id).

A type implements :meth:`IFBenchConstraint.check_ifbench` and, where the semantics differ, overrides
:meth:`IFBenchConstraint.check_native`.  Checks never raise: where IFBench's own code raises (an empty
``custom:csv_quotes`` field, a CSV field past the csv module's size limit), the verdict is False.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ifverify.constraints.base import Alias, HardConstraint
from ifverify.verifiers import text as _text
from ifverify.verifiers import tokenize as _tokenize

IFBENCH = "ifbench"
NATIVE = "native"
SEMANTICS = (IFBENCH, NATIVE)

#: ``string.punctuation``: the ASCII punctuation IFBench strips and deletes everywhere.
PUNCT = string.punctuation
#: What IFBench's ``word.strip(''.join(string.punctuation) + ' ')`` strips.
PUNCT_SPACE = PUNCT + " "
#: ``str.translate`` table deleting every ASCII punctuation character.
DELETE_PUNCT = str.maketrans("", "", PUNCT)
_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class IFBenchAlias(Alias):
    """An IFBench instruction id: its params are IFBench's kwargs, and ``semantics`` defaults to ``ifbench``."""

    def to_native(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # A null counts as absent everywhere; IFBench's rows carry ~40 kwargs, nearly all null: drop them
        # before they are mapped and validated one by one.
        native = super().to_native({key: value for key, value in params.items() if value is not None})
        if native.get("semantics") is None:
            native["semantics"] = IFBENCH
        return native


def schema(properties: Mapping[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object schema with IFBench's params plus ``semantics`` (default ``native``)."""
    props = dict(properties or {})
    props["semantics"] = {"enum": list(SEMANTICS), "default": NATIVE,
                          "description": "ifbench: IFBench's official verdicts; native: its known bugs fixed"}
    return {"type": "object", "required": list(required), "properties": props, "additionalProperties": False}


#: Schema of a count param; IFBench's files carry them as floats (``3.0``), accepted for integers.
COUNT = {"type": "integer", "minimum": 0}
POSITIVE = {"type": "integer", "minimum": 1}
TEXT = {"type": "string"}
PERCENT = {"type": "number", "minimum": 0}


class IFBenchConstraint(HardConstraint):
    """Base of the pack's types: dispatch on ``semantics``; ``fixed`` says what native semantics changes."""

    family: ClassVar[str] = "ifbench"
    params_schema: ClassVar[dict[str, Any]] = schema()
    #: One line on what native semantics fixes ("" when both semantics agree everywhere).
    fixed: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A type's ``description`` is its docstring's first paragraph, on one line, unless it sets one."""
        super().__init_subclass__(**kwargs)
        if "description" not in cls.__dict__ and cls.__doc__:
            cls.description = " ".join(cls.__doc__.strip().split("\n\n")[0].split())

    def check(self, text: str) -> bool:
        # Strict and loose mode both check the response itself: remember the last verdict (one entry,
        # replaced in one assignment, so sharing an instance across threads stays safe).
        memo = self.__dict__.get("_last")
        if memo is not None and memo[0] is text:
            return memo[1]
        verdict = bool(self.check_native(text) if self.params["semantics"] == NATIVE else self.check_ifbench(text))
        self._last = (text, verdict)
        return verdict

    def check_ifbench(self, text: str) -> bool:
        raise NotImplementedError

    def check_native(self, text: str) -> bool:
        return self.check_ifbench(text)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}


class OffenderCheck(IFBenchConstraint):
    """A check that passes when nothing in the text offends; :meth:`offender` describes the first offence."""

    #: The reason given when nothing offends.
    clean: ClassVar[str] = "nothing offends"

    def offender(self, text: str) -> str | None:
        raise NotImplementedError

    def check_ifbench(self, text: str) -> bool:
        return self.offender(text) is None

    def observe(self, text: str) -> str:
        return self.offender(text) or self.clean


class TwoSentences(IFBenchConstraint):
    """A per-sentence rule IFBench lets a single sentence pass vacuously; native needs two sentences."""

    fixed: ClassVar[str] = "at least two sentences are required"

    def check_native(self, text: str) -> bool:
        return len(sentences(text)) >= 2 and self.check_ifbench(text)


# -- text helpers (pure) -------------------------------------------------------------------------------
def sentences(text: str) -> tuple[str, ...]:
    """``nltk.sent_tokenize(text)``: English Punkt sentences (ifverify's exact reimplementation)."""
    return _text.sentences(text)


def iter_sentences(text: str) -> Iterator[str]:
    """``sentences(text)`` one at a time, so a check that fails on an early sentence stops splitting there
    (loose mode tries up to eight variants of a response, most of which fail)."""
    if text.strip():
        for start, stop in _tokenize.sentence_spans(text):
            yield text[start:stop]


def nth_sentence(text: str, n: int) -> str | None:
    """``sentences(text)[n - 1]``, or None when there are fewer than ``n``; stops splitting at the n-th."""
    if not text.strip():
        return None
    for i, (start, stop) in enumerate(_tokenize.sentence_spans(text), start=1):
        if i == n:
            return text[start:stop]
    return None


def word_tokens(text: str) -> list[str]:
    """``nltk.word_tokenize(text)``: Punkt sentences, each split by the Treebank-style tokenizer."""
    return _text.word_tokens(text)


def lazy_word_tokens(text: str) -> Iterator[str]:
    """``word_tokens(text)`` one sentence at a time, so a check that decides early stops splitting early."""
    for sentence in iter_sentences(text):
        yield from _tokenize.treebank_words(sentence)


def end_tokens(text: str, head: int, tail: int) -> tuple[list[str], list[str]]:
    """At least the first ``head`` and the last ``tail`` of ``word_tokens(text)`` (fewer only when the text has
    fewer), tokenizing only the sentences at either end; both are the whole list when the ends meet."""
    found = sentences(text)
    first: list[str] = []
    used = 0
    while len(first) < head and used < len(found):
        first += _tokenize.treebank_words(found[used])
        used += 1
    last: list[str] = []
    back = len(found)
    while len(last) < tail and back > used:
        back -= 1
        last[:0] = _tokenize.treebank_words(found[back])
    if back == used:  # the ends met: every sentence is tokenized
        first = last = first + last
    return first, last


def alnum_tokens(text: str) -> list[str]:
    """``word_tokenize`` tokens holding at least one alphanumeric character (standalone punctuation dropped)."""
    return [token for token in word_tokens(text) if any(ch.isalnum() for ch in token)]


def words(text: str) -> list[str]:
    """Runs of ``\\w`` (IFBench's ``count_words`` tokens)."""
    return _WORD_RE.findall(text)


def count_words(text: str) -> int:
    return len(_WORD_RE.findall(text))


def strip_punct(word: str) -> str:
    """``word.strip(string.punctuation + ' ')``."""
    return word.strip(PUNCT_SPACE)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
