"""Detectable format: bullet lists, fixed answers, highlights, sections, JSON, and a <<title>>."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import jsonschema

from ifverify.constraints.base import Alias, HardConstraint, ParamsError
from ifverify.verifiers._bounded_schema import bounded_validator, unbounded_keywords
from ifverify.verifiers._regex import PatternBudgetError, SafePattern
from ifverify.verifiers._schema import COUNT, SEARCHED, SEMANTICS, compile_ifeval, obj

_HIGHLIGHT_RE = re.compile(r"\*[^\n\*]*\*")
_DOUBLE_HIGHLIGHT_RE = re.compile(r"\*\*[^\n\*]*\*\*")
ANSWERS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


#: IFEval counts ``re.findall(r"^\\s*\\*[^\\*].*$", text, re.M)`` and ``r"^\\s*-.*$"``, which rescan a white-space
#: run from each of its line starts (quadratic on "\\n" * n).  At a line start ``\\s*`` skips all white space,
#: newlines included, to the first non-space character q, so q is a bullet iff the white space before it
#: reaches back to the text's start or holds a newline, i.e. iff q follows the text's start or the last
#: newline of that run, then white space without newlines.  A match runs to the end of the line of its
#: last matched character (for ``*`` followed by a newline, the next line), and the next bullet needs a
#: newline after that: these patterns consume the same text.  ``tests/hostile/test_checkers.py`` holds
#: them to the reference regexes.
_STAR_ITEM_RE = re.compile(r"(?:\A\s*|\n[^\S\n]*)\*[^*]")
_DASH_ITEM_RE = re.compile(r"(?:\A\s*|\n[^\S\n]*)-")


def count_bullets(text: str) -> int:
    """Lines that start (after white space) with ``*`` not followed by ``*``, or with ``-``."""
    return len(_STAR_ITEM_RE.findall(text)) + len(_DASH_ITEM_RE.findall(text))


class BulletList(HardConstraint):
    """Exactly ``num_bullets`` markdown bullet lines (``* item`` or ``- item``)."""

    id = "format.bullet_list"
    family = "format"
    description = "The answer has exactly N markdown bullet points."
    aliases = (Alias("detectable_format:number_bullet_lists"),)
    params_schema = obj(["num_bullets"], num_bullets=COUNT)
    templates = ("Your answer must contain exactly {num_bullets} bullet points. Use the markdown bullet points "
                 "such as:\n* This is point 1.\n* This is point 2",)

    def check(self, text: str) -> bool:
        return count_bullets(text) == self.params["num_bullets"]

    def observe(self, text: str) -> str:
        return f"{count_bullets(text)} bullet(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"num_bullets": rng.randint(2, 6)}


class ConstrainedResponse(HardConstraint):
    """The response contains one of "My answer is yes.", "My answer is no." or "My answer is maybe."."""

    id = "format.constrained_response"
    family = "format"
    description = "Answer with one of three fixed phrases: My answer is yes./no./maybe."
    aliases = (Alias("detectable_format:constrained_response"),)
    templates = ('Answer with one of the following options: ("My answer is yes.", "My answer is no.", '
                 '"My answer is maybe.")',)

    def check(self, text: str) -> bool:
        text = text.strip()
        return any(answer in text for answer in ANSWERS)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}


def count_highlights(text: str) -> int:
    """``*text*`` and ``**text**`` spans on one line with some non-blank text inside (both kinds count)."""
    single = sum(1 for h in _HIGHLIGHT_RE.findall(text) if h.strip("*").strip())
    double = sum(1 for h in _DOUBLE_HIGHLIGHT_RE.findall(text) if h[2:-2].strip())
    return single + double


class Highlights(HardConstraint):
    """At least ``num_highlights`` markdown highlights, counted by :func:`count_highlights`."""

    id = "format.highlights"
    family = "format"
    description = "Highlight at least N sections with markdown, i.e. *highlighted section*."
    aliases = (Alias("detectable_format:number_highlighted_sections"),)
    params_schema = obj(["num_highlights"], num_highlights=COUNT)
    templates = ("Highlight at least {num_highlights} sections in your answer with markdown, i.e. "
                 "*highlighted section*.",)

    def check(self, text: str) -> bool:
        return count_highlights(text) >= self.params["num_highlights"]

    def observe(self, text: str) -> str:
        return f"{count_highlights(text)} highlight(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"num_highlights": rng.randint(1, 4)}


class Sections(HardConstraint):
    """At least ``num_sections`` sections, each opened by ``section_spliter`` and a number ("Section 1").

    Case-sensitive.  The splitter is matched literally (native) or as an unescaped regex (IFEval).
    """

    id = "format.sections"
    family = "format"
    description = "The response has N sections, each marked like 'SECTION X'."
    aliases = (Alias("detectable_format:multiple_sections", fixed={"semantics": "ifeval"}),)
    params_schema = obj(["section_spliter", "num_sections"], section_spliter=SEARCHED, num_sections=COUNT,
                        semantics=SEMANTICS)
    templates = ("Your response must have {num_sections} sections. Mark the beginning of each section with "
                 "{section_spliter} X, such as: {section_spliter} 1",)

    @classmethod
    def check_params(cls, params: dict[str, Any], name: str) -> None:
        cls._compile(params, name)

    @staticmethod
    def _compile(params: dict[str, Any], name: str) -> re.Pattern[str] | SafePattern:
        splitter = params["section_spliter"].strip()
        if params["semantics"] == "native":
            return re.compile(r"\s?" + re.escape(splitter) + r"\s?\d+\s?")
        return compile_ifeval(name, "section_spliter", params["section_spliter"], r"\s?" + splitter + r"\s?\d+\s?")

    def _prepare(self) -> None:
        self._pattern = self._compile(self.params, self.alias or self.id)

    def count(self, text: str) -> int:
        return len(self._pattern.split(text)) - 1

    def check(self, text: str) -> bool:
        return self.count(text) >= self.params["num_sections"]

    def observe(self, text: str) -> str:
        return f"{self.count(text)} section(s)"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"section_spliter": rng.choice(["Section", "SECTION", "PART"]), "num_sections": rng.randint(2, 5)}


def strip_json_fence(text: str) -> str:
    """The text inside a markdown code fence (```json, ```Json, ```JSON or ```), stripped."""
    text = text.strip()
    for prefix in ("```json", "```Json", "```JSON", "```"):
        text = text.removeprefix(prefix)
    return text.removesuffix("```").strip()


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) when the fenced or bare text is JSON; (False, reason) otherwise.  Never raises:
    nesting too deep for the parser counts as not JSON."""
    try:
        return True, json.loads(strip_json_fence(text))
    except ValueError as exc:
        return False, f"not JSON: {exc}"
    except RecursionError:
        return False, "not JSON: nested too deeply to parse"


def _cut(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else f"{message[:limit]}... ({len(message):,} characters)"


class JsonFormat(HardConstraint):
    """The whole response is JSON, optionally inside a markdown code fence; with ``schema``, the JSON
    must also validate against that JSON Schema."""

    id = "format.json"
    family = "format"
    description = "The entire output is wrapped in JSON format (optionally matching a JSON Schema)."
    aliases = (Alias("detectable_format:json_format"),)
    params_schema = obj([], schema={"type": "object", "description": "a JSON Schema the JSON must satisfy"})
    templates = ("Entire output should be wrapped in JSON format. You can use markdown ticks such as ```.",)

    @classmethod
    def check_params(cls, params: dict[str, Any], name: str) -> None:
        if "schema" in params:
            refused = unbounded_keywords(params["schema"])
            if refused is not None:
                raise ParamsError(name, "schema", params["schema"], refused)
            try:
                jsonschema.validators.validator_for(params["schema"]).check_schema(params["schema"])
            except jsonschema.SchemaError as exc:
                raise ParamsError(name, "schema", params["schema"], f"a valid JSON Schema ({exc.message})") from None

    def _prepare(self) -> None:
        schema = self.params.get("schema")
        self._validator = bounded_validator(schema) if schema else None

    def _judge(self, text: str) -> tuple[bool, str]:
        ok, value = parse_json(text)
        if not ok:
            return False, value
        if self._validator is not None:
            try:
                error = jsonschema.exceptions.best_match(self._validator.iter_errors(value))
            except RecursionError:
                return False, "JSON nested too deeply to validate"
            except PatternBudgetError:
                raise  # a per-sample failure, reported as such: not a verdict
            except Exception as exc:  # e.g. a $ref that cannot be resolved: the schema, not the text, is at fault
                return False, f"the schema could not be applied: {type(exc).__name__}: {exc}"
            if error is not None:
                return False, f"JSON does not match the schema: {_cut(error.message)}"
        return True, "valid JSON"

    def check(self, text: str) -> bool:
        return self._judge(text)[0]

    def observe(self, text: str) -> str:
        return self._judge(text)[1]

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}


def find_titles(text: str) -> list[str]:
    """``re.findall(r"<<[^\n]+>>", text)`` in linear time (the regex is quadratic on ``"<" * n``).

    A match never spans a newline, so lines are independent.  On one line the regex tries each ``<<``
    from the left, and ``[^\n]+`` backtracks from the line end to the rightmost ``>>`` that leaves at
    least one character inside: the first ``<<`` at p matches iff that rightmost ``>>`` starts at p + 3
    or later, and a later ``<<`` cannot do better.  That match ends at the line's last ``>>``, so a line
    holds at most one match.
    """
    titles: list[str] = []
    start, size = 0, len(text)
    while True:
        opening = text.find("<<", start)
        if opening < 0:
            return titles
        newline = text.find("\n", opening)
        line_end = size if newline < 0 else newline
        closing = text.rfind(">>", opening + 3, line_end)
        if closing >= 0:
            titles.append(text[opening:closing + 2])
        if newline < 0:
            return titles
        start = newline + 1


class Title(HardConstraint):
    """A title in double angular brackets, ``<<title>>``, on one line and not blank inside."""

    id = "format.title"
    family = "format"
    description = "The answer contains a title wrapped in double angular brackets, such as <<poem of joy>>."
    aliases = (Alias("detectable_format:title"),)
    templates = ("Your answer must contain a title, wrapped in double angular brackets, such as "
                 "<<poem of joy>>.",)

    def check(self, text: str) -> bool:
        return any(title.lstrip("<").rstrip(">").strip() for title in find_titles(text))

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}


TYPES = (BulletList, ConstrainedResponse, Highlights, Sections, JsonFormat, Title)
