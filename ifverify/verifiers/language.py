"""The language family: the whole response is in a given language (deterministic langdetect)."""

from __future__ import annotations

import random
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint
from ifverify.verifiers import langid
from ifverify.verifiers._schema import SEMANTICS, obj

#: The languages langdetect 1.0.9 can return, i.e. the ones this constraint can verify.
LANGUAGES = (
    "af", "ar", "bg", "bn", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "gu",
    "he", "hi", "hr", "hu", "id", "it", "ja", "kn", "ko", "lt", "lv", "mk", "ml", "mr", "ne", "nl", "no",
    "pa", "pl", "pt", "ro", "ru", "sk", "sl", "so", "sq", "sv", "sw", "ta", "te", "th", "tl", "tr", "uk",
    "ur", "vi", "zh-cn", "zh-tw",
)
NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
         "pt": "Portuguese", "ru": "Russian", "hi": "Hindi", "ja": "Japanese", "ko": "Korean",
         "ar": "Arabic", "sw": "Swahili", "vi": "Vietnamese", "fi": "Finnish", "bn": "Bengali"}


def detected_is(text: str, language: str, *, on_error: bool) -> bool:
    """Whether langdetect (seed 0, no global state) says ``text`` is ``language``.

    Text with nothing to detect (no letters) gives ``on_error``: IFEval counts it as followed, native
    semantics count it as not followed.
    """
    found = langid.detect_or_none(text)
    return on_error if found is None else found == language


class ResponseLanguage(HardConstraint):
    """The response's language, by langdetect 1.0.9 seeded with 0, is ``language``.

    Native semantics fail a response in which no language can be detected; IFEval semantics pass it.
    """

    id = "language.response"
    family = "language"
    description = "Answer in one given language, and no other."
    aliases = (Alias("language:response_language", fixed={"semantics": "ifeval"}),)
    params_schema = obj(["language"], language={"enum": list(LANGUAGES)}, semantics=SEMANTICS)
    templates = ("Your ENTIRE response should be in {language_name} language, no other language is allowed.",)

    def check(self, text: str) -> bool:
        return detected_is(text, self.params["language"], on_error=self.params["semantics"] == "ifeval")

    def observe(self, text: str) -> str:
        return f"detected language: {langid.detect_or_none(text) or 'none'}"

    def instruction(self) -> str:
        code = self.params["language"]
        return self.templates[0].format(language_name=NAMES.get(code, code))

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"language": rng.choice(sorted(NAMES))}


TYPES = (ResponseLanguage,)
