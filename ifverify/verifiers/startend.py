"""Start/end family: a fixed closing phrase, and a response wrapped in double quotes."""

from __future__ import annotations

import random
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint
from ifverify.verifiers._schema import NONEMPTY, obj


class EndPhrase(HardConstraint):
    """The response, stripped of white space and then of double quotes, ends with ``end_phrase``
    (both lower-cased; the phrase stripped)."""

    id = "startend.end_phrase"
    family = "startend"
    description = "Finish the response with an exact phrase; nothing may follow it."
    aliases = (Alias("startend:end_checker"),)
    params_schema = obj(["end_phrase"], end_phrase=NONEMPTY)
    templates = ("Finish your response with this exact phrase {end_phrase}. No other words should follow "
                 "this phrase.",)

    def _prepare(self) -> None:
        self._suffix = self.params["end_phrase"].strip().lower()

    def check(self, text: str) -> bool:
        return text.strip().strip('"').lower().endswith(self._suffix)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"end_phrase": rng.choice(["Any other questions?", "Is there anything else I can help with?",
                                          "Let me know if you have additional questions."])}


class Quotation(HardConstraint):
    """The stripped response is at least two characters long and starts and ends with ``"``."""

    id = "startend.quotation"
    family = "startend"
    description = "Wrap the entire response with double quotation marks."
    aliases = (Alias("startend:quotation"),)
    templates = ("Wrap your entire response with double quotation marks.",)

    def check(self, text: str) -> bool:
        text = text.strip()
        return len(text) > 1 and text[0] == '"' and text[-1] == '"'

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}


TYPES = (EndPhrase, Quotation)
