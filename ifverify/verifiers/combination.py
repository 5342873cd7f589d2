"""Combination family: two different responses, and repeating the request before answering."""

from __future__ import annotations

import random
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint
from ifverify.verifiers._schema import NONEMPTY, obj

SEPARATOR = "******"


def two_responses(text: str) -> tuple[bool, str]:
    """Split on ``******``: exactly two non-blank parts that differ (after stripping), and no blank part
    between separators (blank leading or trailing parts are allowed)."""
    parts = text.split(SEPARATOR)
    kept = []
    for index, part in enumerate(parts):
        if part.strip():
            kept.append(part)
        elif 0 < index < len(parts) - 1:
            return False, "a blank response between separators"
    if len(kept) != 2:
        return False, f"{len(kept)} response(s)"
    if kept[0].strip() == kept[1].strip():
        return False, "the two responses are the same"
    return True, "two different responses"


class TwoResponses(HardConstraint):
    """Two different responses separated by six asterisks, see :func:`two_responses`."""

    id = "combination.two_responses"
    family = "combination"
    description = "Give two different responses separated by 6 asterisk symbols: ******."
    aliases = (Alias("combination:two_responses"),)
    templates = ("Give two different responses. Responses and only responses should be separated by 6 "
                 "asterisk symbols: ******.",)

    def check(self, text: str) -> bool:
        return two_responses(text)[0]

    def observe(self, text: str) -> str:
        return two_responses(text)[1]

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}


class RepeatPrompt(HardConstraint):
    """The response starts with ``prompt_to_repeat``; both stripped and compared lower-cased."""

    id = "combination.repeat_prompt"
    family = "combination"
    description = "First repeat the request word for word without change, then give the answer."
    aliases = (Alias("combination:repeat_prompt"),)
    params_schema = obj(["prompt_to_repeat"], prompt_to_repeat=NONEMPTY)
    templates = ("First repeat the request word for word without change, then give your answer (1. do not "
                 "say any words or characters before repeating the request; 2. the request you need to "
                 "repeat does not include this sentence) {prompt_to_repeat}",)

    def _prepare(self) -> None:
        self._prefix = self.params["prompt_to_repeat"].strip().lower()

    def check(self, text: str) -> bool:
        return text.strip().lower().startswith(self._prefix)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"prompt_to_repeat": rng.choice(["Write a short poem about the sea.",
                                                "Explain why the sky is blue."])}


TYPES = (TwoResponses, RepeatPrompt)
