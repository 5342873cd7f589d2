"""JSON Schema fragments and small helpers shared by the hard constraint families."""

from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import Any

from ifverify.constraints.base import ParamsError, short_repr
from ifverify.verifiers._regex import SafePattern

RELATIONS = ("less than", "at least")
RELATION: dict[str, Any] = {"enum": list(RELATIONS), "description": "how the count compares to the number"}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
POSITIVE: dict[str, Any] = {"type": "integer", "minimum": 1}
#: The longest text param (a prompt to repeat, an end phrase): params are configuration, not data.
TEXT_PARAM_MAX = 65536
NONEMPTY: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": TEXT_PARAM_MAX, "pattern": r"\S"}
#: The longest searched-for param (keyword, marker, section splitter): it bounds a search's time.
SEARCH_PARAM_MAX = 128
SEARCHED: dict[str, Any] = {**NONEMPTY, "maxLength": SEARCH_PARAM_MAX}
SEMANTICS: dict[str, Any] = {
    "enum": ["native", "ifeval"],
    "default": "native",
    "description": "'ifeval' reproduces IFEval's reference checker exactly, quirks included; "
                   "'native' fixes its traps (see the type's description)",
}


def obj(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    """An object schema with the given properties, ``required`` ones, and nothing else."""
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


def relation_holds(count: int, relation: str, threshold: int) -> bool:
    """``count < threshold`` for "less than", ``count >= threshold`` for "at least"."""
    return count < threshold if relation == "less than" else count >= threshold


def compile_ifeval(name: str, param: str, value: str, pattern: str, flags: int = 0) -> re.Pattern[str] | SafePattern:
    """Compile ``pattern``, built from the raw ``value`` as IFEval builds it.

    A ``value`` that is plain text to ``re`` (no regex syntax: the common case, and every IFEval row)
    compiles with ``re`` itself, so verdicts are IFEval's bit for bit; the params' length caps bound
    its time.  A ``value`` with regex syntax runs on the time-bounded engine (see
    :mod:`ifverify.verifiers._regex`).  A pattern that ``re`` rejects (as IFEval would) is a params
    error naming the param and value, raised at construction, not per sample.
    """
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ParamsError(name, param, value,
                          f"a valid regular expression under semantics 'ifeval' ({exc.msg}); "
                          "semantics 'native' matches it literally") from None
    if _is_plain(value):
        return compiled
    try:
        return SafePattern(pattern, flags, f"{name}: {param} {short_repr(value)}",
                           "; semantics 'native' matches it literally")
    except ValueError as exc:
        raise ParamsError(name, param, value, f"a regular expression the bounded engine accepts ({exc})") from None


_LITERAL = re._constants.LITERAL  # type: ignore[attr-defined]


@lru_cache(maxsize=4096)  # params repeat across a dataset, and parsing costs more than the check
def _is_plain(value: str) -> bool:
    """True when ``re`` reads ``value`` as literal characters only (no class, repeat, group or anchor).

    A value that does not parse alone (``"a\\"``, whose backslash escapes the next part of the pattern)
    is not plain.
    """
    try:
        return all(op is _LITERAL for op, _ in re._parser.parse(value))  # type: ignore[attr-defined]
    except re.error:
        return False


#: Scripts written without spaces between words (Thai, kana, CJK ideographs, Hangul syllables): a keyword
#: in them has no word boundaries to match on, so it matches as a substring.
_UNSPACED_RE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def word_pattern(word: str) -> re.Pattern[str]:
    """``word`` matched literally and case-insensitively, as a whole word: not "cat" in "category".

    A whole word is not preceded or followed by a letter or digit; underscores count as boundaries, so
    markdown italics (``_dog_``) do not hide a keyword.  Keywords in scripts without spaces match anywhere.
    """
    body = re.escape(word)
    if _UNSPACED_RE.search(word):
        return re.compile(body, re.IGNORECASE)
    return re.compile(r"(?<![^\W_])" + body + r"(?![^\W_])", re.IGNORECASE)


WORDS = (
    "ocean", "garden", "history", "market", "river", "future", "energy", "music", "travel", "science",
    "family", "winter", "coffee", "window", "planet", "health", "silver", "village", "journey", "language",
)


def sample_relation(rng: random.Random) -> str:
    return rng.choice(RELATIONS)
