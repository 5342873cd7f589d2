"""JSON Schema fragments and small helpers shared by the hard constraint families."""

from __future__ import annotations

import random
import re
from typing import Any

from ifverify.constraints.base import ParamsError

RELATIONS = ("less than", "at least")
RELATION: dict[str, Any] = {"enum": list(RELATIONS), "description": "how the count compares to the number"}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
POSITIVE: dict[str, Any] = {"type": "integer", "minimum": 1}
NONEMPTY: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": r"\S"}
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


def compile_ifeval(name: str, param: str, value: str, pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile ``pattern`` (built from the raw ``value`` as IFEval builds it); a pattern that does not
    compile is a params error naming the param and value, raised at construction, not per sample."""
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ParamsError(name, param, value,
                          f"a valid regular expression under semantics 'ifeval' ({exc.msg}); "
                          "semantics 'native' matches it literally") from None


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
