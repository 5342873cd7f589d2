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


def ensure_regex(name: str, param: str, pattern: str) -> None:
    """IFEval semantics feed text straight into ``re``: reject a pattern that does not compile."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ParamsError(name, param, pattern,
                          f"a valid regular expression under semantics 'ifeval' ({exc}); "
                          "semantics 'native' matches it literally") from None


def word_pattern(word: str) -> re.Pattern[str]:
    """``word`` matched literally, case-insensitively, and only as a whole word (not "cat" in "category")."""
    return re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)


WORDS = (
    "ocean", "garden", "history", "market", "river", "future", "energy", "music", "travel", "science",
    "family", "winter", "coffee", "window", "planet", "health", "silver", "village", "journey", "language",
)


def sample_relation(rng: random.Random) -> str:
    return rng.choice(RELATIONS)
