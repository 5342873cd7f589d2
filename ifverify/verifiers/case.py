"""Case family: the whole response in one case, and the number of all-capital words."""

from __future__ import annotations

import random
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint
from ifverify.verifiers import text as tx
from ifverify.verifiers._schema import COUNT, RELATION, SEMANTICS, obj, relation_holds, sample_relation
from ifverify.verifiers.language import LANGUAGES, detected_is

#: Reasons for longer texts give the bounds instead of the exact count.
_EXACT_REASON_UP_TO = 100_000


class WholeCase(HardConstraint):
    """Every cased character is upper case (``case: upper``, ``str.isupper``) or lower case
    (``case: lower``, ``str.islower``); a text with no cased character fails.

    With ``language``, langdetect (seed 0) must also detect that language; IFEval's two case ids pin
    English and, like IFEval, count an undetectable text as English.  Natively it is not.
    """

    id = "case.whole"
    family = "case"
    description = "The entire response is in capital letters, or in lowercase letters."
    aliases = (
        Alias("change_case:english_capital", fixed={"case": "upper", "language": "en", "semantics": "ifeval"}),
        Alias("change_case:english_lowercase",
              fixed={"case": "lower", "language": "en", "semantics": "ifeval"}),
    )
    params_schema = obj(["case"], case={"enum": ["upper", "lower"]}, language={"enum": list(LANGUAGES)},
                        semantics=SEMANTICS)
    templates = ("Your entire response should be in English, and in all capital letters.",
                 "Your entire response should be in English, and in all lowercase letters. No capital "
                 "letters are allowed.")

    def check(self, text: str) -> bool:
        in_case = text.isupper() if self.params["case"] == "upper" else text.islower()
        if not in_case or "language" not in self.params:
            return in_case
        return detected_is(text, self.params["language"], on_error=self.params["semantics"] == "ifeval")

    def instruction(self) -> str:
        if "language" not in self.params:
            which = "capital" if self.params["case"] == "upper" else "lowercase"
            return f"Your entire response should be in {which} letters."
        return self.templates[0 if self.params["case"] == "upper" else 1]

    def clashes(self, other: Any) -> bool:
        return (isinstance(other, CapitalWords) and self.params["case"] == "lower"
                and other.params["relation"] == "at least" and other.params["frequency"] > 0)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"case": rng.choice(["upper", "lower"]), "language": "en"}


class CapitalWords(HardConstraint):
    """Fewer than / at least ``frequency`` all-capital words: ``nltk.word_tokenize`` tokens for which
    ``str.isupper`` holds (so "I" and "U.S." count, hyphenated words count once)."""

    id = "case.capital_words"
    family = "case"
    description = "Words in all capital letters appear fewer than, or at least, N times."
    aliases = (Alias("change_case:capital_word_frequency",
                     rename={"capital_frequency": "frequency", "capital_relation": "relation"}),)
    params_schema = obj(["frequency", "relation"], frequency=COUNT, relation=RELATION)
    templates = ("In your response, words with all capital letters should appear {relation} {frequency} times.",)

    def check(self, text: str) -> bool:
        relation, threshold = self.params["relation"], self.params["frequency"]
        low, high = tx.capital_words_bounds(text)  # decide from bounds when they suffice; exact otherwise
        if low >= threshold:
            return relation == "at least"
        if high < threshold:
            return relation == "less than"
        return relation_holds(tx.count_capital_words(text), relation, threshold)

    def observe(self, text: str) -> str:
        if len(text) > _EXACT_REASON_UP_TO:
            low, high = tx.capital_words_bounds(text)
            return f"between {low} and {high} all-capital words"
        return f"{tx.count_capital_words(text)} all-capital word(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"frequency": rng.randint(1, 10), "relation": sample_relation(rng)}


TYPES = (WholeCase, CapitalWords)
