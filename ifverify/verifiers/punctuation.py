"""Punctuation family: no commas."""

from __future__ import annotations

import random
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint


class NoComma(HardConstraint):
    """The response contains no ASCII comma ``,`` (other commas such as ``，`` are allowed)."""

    id = "punctuation.no_comma"
    family = "punctuation"
    description = "Do not use any commas in the response."
    aliases = (Alias("punctuation:no_comma"),)
    templates = ("In your entire response, refrain from the use of any commas.",)

    def check(self, text: str) -> bool:
        return "," not in text

    def observe(self, text: str) -> str:
        return f"{text.count(',')} comma(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}


TYPES = (NoComma,)
