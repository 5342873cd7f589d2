"""Detectable content: square-bracket placeholders and a postscript."""

from __future__ import annotations

import random
import re
from typing import Any

from ifverify.constraints.base import Alias, HardConstraint
from ifverify.verifiers._regex import SafePattern
from ifverify.verifiers._schema import COUNT, SEARCHED, SEMANTICS, compile_ifeval, obj

# IFEval searches for r"\s*" + marker + r".*$"; a leading \s* never changes whether a search finds a
# match (the match may start after it), but it makes the search quadratic on long blank runs.
_PPS_RE = re.compile(r"p\.\s?p\.\s?s.*$", re.MULTILINE)
_PS_RE = re.compile(r"p\.\s?s\..*$", re.MULTILINE)


_PLACEHOLDER_RE = re.compile(r"\[[^\]\n]*\]")


def count_placeholders(text: str) -> int:
    """``len(re.findall(r"\\[.*?\\]", text))`` in linear time.

    Each ``[`` pairs with the first ``]`` after it on the same line (``[^\\]\\n]*\\]`` is the same
    match as ``.*?\\]``).  The reference regex is quadratic only on a ``[`` with no ``]`` after it on its
    line, and no such ``[`` can match, so each line is searched up to its last ``]``.
    """
    if "]" not in text:
        return 0
    count = 0
    for line in text.split("\n"):
        last = line.rfind("]")
        if last > 0:
            count += len(_PLACEHOLDER_RE.findall(line, 0, last + 1))
    return count


class Placeholders(HardConstraint):
    """At least ``num_placeholders`` placeholders, a placeholder being the shortest ``[...]`` on one line."""

    id = "content.placeholders"
    family = "content"
    description = "The response holds at least N placeholders in square brackets, like [address]."
    aliases = (Alias("detectable_content:number_placeholders"),)
    params_schema = obj(["num_placeholders"], num_placeholders=COUNT)
    templates = ("The response must contain at least {num_placeholders} placeholders represented by square "
                 "brackets, such as [address].",)

    def check(self, text: str) -> bool:
        return count_placeholders(text) >= self.params["num_placeholders"]

    def observe(self, text: str) -> str:
        return f"{count_placeholders(text)} placeholder(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"num_placeholders": rng.randint(1, 4)}


class Postscript(HardConstraint):
    """Some line of the lower-cased response contains the postscript marker.

    "P.S." and "P.P.S" accept optional single spaces after their periods ("p. s.").  Any other marker
    is matched literally (native) or as an unescaped regex (IFEval).
    """

    id = "content.postscript"
    family = "content"
    description = "End with a postscript that starts with a given marker such as P.S."
    aliases = (Alias("detectable_content:postscript", fixed={"semantics": "ifeval"}),)
    params_schema = obj(["postscript_marker"], postscript_marker=SEARCHED, semantics=SEMANTICS)
    templates = ("At the end of your response, please explicitly add a postscript starting with "
                 "{postscript_marker}",)

    @classmethod
    def check_params(cls, params: dict[str, Any], name: str) -> None:
        cls._compile(params, name)

    @staticmethod
    def _compile(params: dict[str, Any], name: str) -> re.Pattern[str] | SafePattern:
        marker = params["postscript_marker"].strip()
        if marker == "P.P.S":
            return _PPS_RE
        if marker == "P.S.":
            return _PS_RE
        if params["semantics"] == "native":
            return re.compile(re.escape(marker.lower()) + r".*$", re.MULTILINE)
        # IFEval compiles r"\s*" + marker + r".*$"; compile that to reject what IFEval would reject.
        compile_ifeval(name, "postscript_marker", params["postscript_marker"], r"\s*" + marker.lower() + r".*$")
        return compile_ifeval(name, "postscript_marker", params["postscript_marker"],
                              marker.lower() + r".*$", re.MULTILINE)

    def _prepare(self) -> None:
        self._pattern = self._compile(self.params, self.alias or self.id)

    def check(self, text: str) -> bool:
        return self._pattern.search(text.lower()) is not None

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"postscript_marker": rng.choice(["P.S.", "P.P.S"])}


TYPES = (Placeholders, Postscript)
