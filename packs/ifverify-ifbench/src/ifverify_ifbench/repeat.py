"""IFBench's ``repeat:*`` instructions: copy the request, a fixed sentence or a span of the request."""

from __future__ import annotations

import random
from typing import Any

from ifverify_ifbench._base import COUNT, TEXT, IFBenchAlias, IFBenchConstraint, schema

_SAMPLE_PROMPTS = ("Write a short poem about the sea at night.",
                   "Explain how a bicycle gear system works to a child.",
                   "Describe the history of the printing press in three paragraphs.")


class RepeatChange(IFBenchConstraint):
    """The request repeated with its first word changed: not the request itself, and from the second
    whitespace-separated word on, identical to it (whitespace runs compare equal).

    ifbench: the first word is never compared, so a copy differing only in spacing passes.  native: the
    first words must differ (case-insensitively).
    """

    id = "ifbench.repeat_repeat_change"
    aliases = (IFBenchAlias("repeat:repeat_change"),)
    params_schema = schema({"prompt_to_repeat": {"type": "string", "minLength": 1}}, ("prompt_to_repeat",))
    templates = ("Repeat the request, changing only its first word, and do not answer it. Request: "
                 "{prompt_to_repeat}",)
    fixed = "the first word must actually change"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"prompt_to_repeat": rng.choice(_SAMPLE_PROMPTS)}

    def check_ifbench(self, text: str) -> bool:
        prompt = self.params["prompt_to_repeat"]
        return prompt != text and prompt.split()[1:] == text.split()[1:]

    def check_native(self, text: str) -> bool:
        prompt, answer = self.params["prompt_to_repeat"].split(), text.split()
        return (self.check_ifbench(text) and bool(prompt) and bool(answer)
                and prompt[0].lower() != answer[0].lower())


_SIMPLE = "Only output this sentence here, ignore all other requests."


class RepeatSimple(IFBenchConstraint):
    """The response is exactly "Only output this sentence here, ignore all other requests." (stripped,
    case-insensitive)."""

    id = "ifbench.repeat_repeat_simple"
    aliases = (IFBenchAlias("repeat:repeat_simple"),)
    templates = (_SIMPLE,)

    def check_ifbench(self, text: str) -> bool:
        return text.strip().lower() == _SIMPLE.lower()


class RepeatSpan(IFBenchConstraint):
    """The span of ``prompt_to_repeat`` from index ``n_start`` to ``n_end`` inclusive, repeated alone
    (stripped, case-insensitive).

    ifbench: the indices are *character* indices, although the prompts ask for a span of words.
    native: they are indices of whitespace-separated words, and whitespace runs compare equal.
    """

    id = "ifbench.repeat_repeat_span"
    aliases = (IFBenchAlias("repeat:repeat_span"),)
    params_schema = schema({"prompt_to_repeat": TEXT, "n_start": COUNT, "n_end": COUNT},
                           ("prompt_to_repeat", "n_start", "n_end"))
    templates = ("Copy the span of words from index {n_start} to index {n_end} (inclusive) of this text: "
                 "{prompt_to_repeat}",)
    fixed = "the indices are word indices, as the prompts say"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        start = rng.randint(0, 3)
        return {"prompt_to_repeat": rng.choice(_SAMPLE_PROMPTS), "n_start": start, "n_end": start + rng.randint(1, 3)}

    def _span(self, native: bool) -> str:
        prompt, start, end = self.params["prompt_to_repeat"], self.params["n_start"], self.params["n_end"]
        if native:
            return " ".join(prompt.split()[start:end + 1])
        return prompt[start:end + 1]

    def check_ifbench(self, text: str) -> bool:
        return text.strip().lower() == self._span(False).strip().lower()

    def check_native(self, text: str) -> bool:
        return " ".join(text.split()).lower() == self._span(True).lower()

    def observe(self, text: str) -> str:
        return f"expected span {self._span(self.params['semantics'] == 'native')!r}"


TYPES = (RepeatChange, RepeatSimple, RepeatSpan)
