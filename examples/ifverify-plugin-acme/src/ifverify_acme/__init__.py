"""Example ifverify plugin: hard constraint types in the ``acme`` namespace.

ifverify finds this package through the ``ifverify.constraints`` entry point named ``acme`` (see
``pyproject.toml``), calls :func:`constraint_types` and registers what it returns.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from ifverify.constraints.base import Alias, HardConstraint

__all__ = ["MaxLineLength", "NoExclamation", "constraint_types"]


class NoExclamation(HardConstraint):
    """No exclamation mark anywhere in the response.

    Only U+0021 "!" counts; the full-width "！" (U+FF01) and the inverted "¡" do not.  The empty response
    passes.
    """

    id: ClassVar[str] = "acme.no_exclamation"
    family: ClassVar[str] = "acme"
    description: ClassVar[str] = "The response contains no '!' character."
    aliases: ClassVar[tuple[Alias, ...]] = (Alias("acme:no_exclamation"),)
    templates: ClassVar[tuple[str, ...]] = (
        "Do not use any exclamation marks in your response.",
        "Write without a single '!'.",
    )

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}

    def check(self, text: str) -> bool:
        return "!" not in text


class MaxLineLength(HardConstraint):
    """Every line has at most ``max_chars`` characters.

    Lines are split with :meth:`str.splitlines` (so "\\r\\n" and other line breaks count as breaks and are
    not part of the line).  Length is counted in Unicode code points: a CJK character or an emoji counts
    as one.  Trailing whitespace counts.  The empty response passes.
    """

    id: ClassVar[str] = "acme.max_line_length"
    family: ClassVar[str] = "acme"
    description: ClassVar[str] = "No line of the response is longer than max_chars characters."
    aliases: ClassVar[tuple[Alias, ...]] = (Alias("acme:max_line_length"),)
    params_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["max_chars"],
        "properties": {"max_chars": {"type": "integer", "minimum": 1}},
        "additionalProperties": False,
    }
    templates: ClassVar[tuple[str, ...]] = (
        "Keep every line to {max_chars} characters or fewer.",
        "No line of your answer may be longer than {max_chars} characters.",
    )

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"max_chars": rng.choice([40, 60, 80, 100, 120])}

    def check(self, text: str) -> bool:
        limit = self.params["max_chars"]
        return all(len(line) <= limit for line in text.splitlines())


def constraint_types() -> tuple[type[HardConstraint], ...]:
    """The constraint types this plugin adds (called once by ifverify when the registry is built)."""
    return (NoExclamation, MaxLineLength)
