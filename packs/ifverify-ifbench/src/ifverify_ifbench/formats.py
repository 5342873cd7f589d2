"""IFBench's ``format:*`` instructions: layout, markup, quoting and templates."""

from __future__ import annotations

import random
import re
from collections import defaultdict, deque
from itertools import pairwise
from typing import Any

from ifverify_ifbench._base import (
    DELETE_PUNCT,
    PUNCT_SPACE,
    TEXT,
    IFBenchAlias,
    IFBenchConstraint,
    OffenderCheck,
    iter_sentences,
    lazy_word_tokens,
    plural,
    schema,
    sentences,
)


class Emoji(OffenderCheck):
    """An emoji ends every Punkt sentence.

    Each sentence is stripped of ASCII punctuation and whitespace; its last or second-to-last character
    must be an emoji (``emoji.is_emoji``), or else the next sentence's first character must be.  An empty
    stripped sentence fails.
    """

    id = "ifbench.format_emoji"
    aliases = (IFBenchAlias("format:emoji"),)
    templates = ("Put an emoji at the end of every sentence.",)
    clean = "every sentence ends with an emoji"

    def offender(self, text: str) -> str | None:
        bad = self._bad(text)
        return None if bad is None else f"sentence {bad} does not end with an emoji"

    def _bad(self, text: str) -> int | None:
        from emoji import is_emoji

        found = iter_sentences(text)  # one sentence ahead at most: the first offender stops the splitting
        sentence, i = next(found, None), 0
        while sentence is not None:
            after = next(found, None)
            stripped = sentence.translate(DELETE_PUNCT).strip()
            if not stripped:
                return i + 1
            if not is_emoji(stripped[-1]) and not is_emoji(stripped[-2] if len(stripped) > 1 else stripped[-1]):
                if after is None:
                    return i + 1
                following = after.translate(DELETE_PUNCT).strip()
                if not following or not is_emoji(following[0]):
                    return i + 1
            sentence, i = after, i + 1
        return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _ifbench_kept_lines(lines: list[str]) -> list[str]:
    """The lines left by IFBench's loop ``for line in lines: if not line.strip(): lines.remove(line)``.

    Removing while iterating skips the line after each removed one, and ``remove`` drops the *first* equal
    line, which may be an earlier skipped one.  Simulated in linear time: nothing after the cursor is ever
    removed, so the cursor walks the original indices (+2 after a removal, +1 otherwise), and each blank
    value keeps a queue of its not yet removed occurrences before the cursor.
    """
    removed = [False] * len(lines)
    waiting: dict[str, deque[int]] = defaultdict(deque)
    cursor = 0
    while cursor < len(lines):
        line = lines[cursor]
        if line.strip():
            cursor += 1
            continue
        waiting[line].append(cursor)
        removed[waiting[line].popleft()] = True
        if cursor + 1 < len(lines) and not lines[cursor + 1].strip():
            waiting[lines[cursor + 1]].append(cursor + 1)
        cursor += 2
    return [line for line, gone in zip(lines, removed, strict=True) if not gone]


class LineIndent(IFBenchConstraint):
    """Stairs: each line is indented (leading spaces) strictly more than the line before.

    ifbench: blank lines are removed by a loop that mutates the list it iterates, so a blank line that
    follows a removed blank line stays and breaks the stairs.  native: every blank line is ignored.
    """

    id = "ifbench.format_line_indent"
    aliases = (IFBenchAlias("format:line_indent"),)
    templates = ("Create stairs by indenting each new line a little more than the previous one.",)
    fixed = "every blank line is ignored (the official loop skips the line after each removed one)"

    @staticmethod
    def _stairs(lines: list[str]) -> bool:
        return all(_indent(b) > _indent(a) for a, b in pairwise(lines))

    def check_ifbench(self, text: str) -> bool:
        return self._stairs(_ifbench_kept_lines(text.split("\n")))

    def check_native(self, text: str) -> bool:
        return self._stairs([line for line in text.split("\n") if line.strip()])

    def observe(self, text: str) -> str:
        return "indents: " + " ".join(str(_indent(x)) for x in text.split("\n")[:12] if x.strip())


class List(IFBenchConstraint):
    """A list whose items start with ``sep`` instead of bullets.

    ifbench: ``sep`` occurs at least twice anywhere ("well-known state-of-the-art" passes for "-").
    native: at least two lines start (after indentation) with ``sep``.
    """

    id = "ifbench.format_list"
    aliases = (IFBenchAlias("format:list"),)
    params_schema = schema({"sep": {"type": "string", "minLength": 1}}, ("sep",))
    templates = ("Answer with a list of items, using {sep} instead of bullet points.",)
    fixed = "the separator must start at least two lines, not just occur twice"

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"sep": rng.choice(["...", "SEPARATOR", "!?!?", "-"])}

    def check_ifbench(self, text: str) -> bool:
        return text.count(self.params["sep"]) >= 2

    def check_native(self, text: str) -> bool:
        return sum(1 for line in text.split("\n") if line.lstrip().startswith(self.params["sep"])) >= 2

    def observe(self, text: str) -> str:
        return f"{self.params['sep']!r} occurs {text.count(self.params['sep'])} time(s)"


class Newline(IFBenchConstraint):
    """Each word on its own line: with ASCII punctuation deleted, the non-empty lines of the stripped text
    are as many as its whitespace-separated words (a whitespace-only line counts as a line)."""

    id = "ifbench.format_newline"
    aliases = (IFBenchAlias("format:newline"),)
    templates = ("Write each word on a new line.",)

    def check_ifbench(self, text: str) -> bool:
        value = text.translate(DELETE_PUNCT).strip()
        return sum(1 for line in value.split("\n") if line != "") == len(value.split())


class NoBulletsBullets(IFBenchConstraint):
    """At least two sentences, then at least two bullet lines starting with "*".

    Read line by line, as IFBench does: lines before the first bullet add their Punkt sentence count (a
    blank line there ends the intro, so any later non-bullet line fails); a bullet seen with fewer than 2
    sentences before it fails; any non-bullet line after a bullet fails (a trailing newline too).
    """

    id = "ifbench.format_no_bullets_bullets"
    aliases = (IFBenchAlias("format:no_bullets_bullets"),)
    templates = ("Write at least two sentences ending in a period, then at least two bullet points marked with *.",)

    def check_ifbench(self, text: str) -> bool:
        intro: Any = True
        count_sentences = count_bullets = 0
        for line in text.split("\n"):
            if line.strip().startswith("*"):
                intro = False
                if count_sentences < 2:
                    return False
                count_bullets += 1
            elif intro:
                intro = sentences(line.strip())
                count_sentences += len(intro)
            else:
                return False
        return count_bullets >= 2


class NoWhitespace(IFBenchConstraint):
    """No whitespace character at all (``str.isspace``)."""

    id = "ifbench.format_no_whitespace"
    aliases = (IFBenchAlias("format:no_whitespace"),)
    templates = ("Do not use any whitespace in your response.",)

    def check_ifbench(self, text: str) -> bool:
        return not any(ch.isspace() for ch in text)


_LETTER_OPTIONS = re.compile(r"\W*[aA]\W*[bB]\W*[cC]\W*")


class Options(IFBenchConstraint):
    """The answer is exactly one of ``options``.

    The options text is split on "/" if it has one, else on "or" (anywhere, even inside a word), else on
    ","; each option is stripped.  Letter options ("a), b), c)") must match exactly, whitespace included;
    other options match case-insensitively with ASCII punctuation and spaces stripped at both ends.
    """

    id = "ifbench.format_options"
    aliases = (IFBenchAlias("format:options"),)
    params_schema = schema({"options": TEXT}, ("options",))
    templates = ("Answer with one of the following options: {options}. Do not give any explanation.",)

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {"options": rng.choice(["yes/no/maybe", "I know or I don't know", "a), b), c), d)"])}

    def _prepare(self) -> None:
        options = self.params["options"]
        self._strict = _LETTER_OPTIONS.match(options) is not None
        sep = "/" if "/" in options else "or" if "or" in options else ","
        self._options = [option.strip() for option in options.split(sep)]

    def check_ifbench(self, text: str) -> bool:
        if self._strict:
            return text in self._options
        answer = text.strip(PUNCT_SPACE).lower()
        return any(option.strip(PUNCT_SPACE).lower() == answer for option in self._options)


class OutputTemplate(IFBenchConstraint):
    """The text contains "My Answer:", "My Conclusion:" and "Future Outlook:" (case-sensitive)."""

    id = "ifbench.format_output_template"
    aliases = (IFBenchAlias("format:output_template"),)
    templates = ("Use this template: My Answer: [answer] My Conclusion: [conclusion] Future Outlook: [outlook]",)

    def check_ifbench(self, text: str) -> bool:
        return "My Answer:" in text and "My Conclusion:" in text and "Future Outlook:" in text


_PAIRS = {")": "(", "]": "[", "}": "{"}
_BRACKETS = re.compile(r"[()\[\]{}]")
_QUOTE_CHARS = re.compile("[\"']")


class Parentheses(IFBenchConstraint):
    """Brackets ( [ { nested at least 5 deep and closed.

    Scanning left to right with a stack: a closer matching the top pops it, and passes once the deepest
    level reached is 5 or more; a closer that does not match empties the stack and resets the depth.
    """

    id = "ifbench.format_parentheses"
    aliases = (IFBenchAlias("format:parentheses"),)
    templates = ("Nest parentheses, brackets and braces at least 5 levels deep.",)

    def check_ifbench(self, text: str) -> bool:
        stack: list[str] = []
        deepest = 0
        for ch in _BRACKETS.findall(text):  # other characters neither open nor close
            if ch in "([{":
                stack.append(ch)
                deepest = max(deepest, len(stack))
            elif ch in _PAIRS:
                if stack and stack[-1] == _PAIRS[ch]:
                    stack.pop()
                    if deepest >= 5:
                        return True
                else:
                    stack, deepest = [], 0
        return False


class QuoteUnquote(IFBenchConstraint):
    """Every quoted phrase is followed by unquoted text: with whitespace removed (and the literal '\"'
    reference removed), no two '"' touch, and the text, stripped of digits and punctuation other than '"'
    at both ends, does not end with '"'.

    ifbench: only straight quotes count (curly quotes pass unseen).  native: curly double quotes are read
    as straight ones first.
    """

    id = "ifbench.format_quote_unquote"
    aliases = (IFBenchAlias("format:quote_unquote"),)
    templates = ("Follow every quoted phrase with an unquoted explanation.",)
    fixed = "curly double quotes count as quotes"

    @staticmethod
    def _check(text: str) -> bool:
        value = "".join(text.replace("'\"'", "").split())
        if '""' in value:
            return False
        stripped = value.strip("0123456789" + _PUNCT_NO_QUOTE)
        return not (stripped and stripped[-1] == '"')

    def check_ifbench(self, text: str) -> bool:
        return self._check(text)

    def check_native(self, text: str) -> bool:
        return self._check(text.replace("\u201c", '"').replace("\u201d", '"'))


_PUNCT_NO_QUOTE = PUNCT_SPACE[:-1].replace('"', "")


class Quotes(IFBenchConstraint):
    """Quotes within quotes within quotes, alternating ' and ", at least 3 levels deep (straight quotes;
    a character equal to the innermost open quote closes it, any other quote opens a level)."""

    id = "ifbench.format_quotes"
    aliases = (IFBenchAlias("format:quotes"),)
    templates = ("Include quotes within quotes within quotes, at least 3 levels deep, alternating double and "
                 "single quotes.",)

    def check_ifbench(self, text: str) -> bool:
        stack: list[str] = []
        reached = 0
        for ch in _QUOTE_CHARS.findall(text):  # the innermost open quote is a quote: nothing else closes it
            if stack and ch == stack[-1]:
                stack.pop()
                if reached - len(stack) >= 3:
                    return True
            elif ch in "\"'":
                stack.append(ch)
                reached = max(reached, len(stack))
        return False


def _bullet(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("*") and not stripped.startswith("**")


class SubBullets(IFBenchConstraint):
    """Bullets marked "*", each with at least one sub-bullet marked "-".

    ifbench: the text is split on every "*" and each piece after the first must contain a "-"; a text
    with no "*" passes (so loose mode, which deletes "*", always passes) and "**bold**" breaks it.
    native: at least one line starts with "*" (not "**"), and each such line is followed, before the next,
    by at least one line starting with "-".
    """

    id = "ifbench.format_sub_bullets"
    aliases = (IFBenchAlias("format:sub-bullets"),)
    templates = ("Use bullet points marked with * and give each at least one sub-bullet marked with -.",)
    fixed = "at least one '*' bullet is required, and each needs a '-' sub-bullet line"

    def check_ifbench(self, text: str) -> bool:
        return all("-" in piece for piece in text.split("*")[1:])

    def check_native(self, text: str) -> bool:
        bullets = subs = 0
        for line in text.split("\n"):
            if _bullet(line):
                if bullets and not subs:
                    return False
                bullets, subs = bullets + 1, 0
            elif bullets and line.lstrip().startswith("-"):
                subs += 1
        return bullets > 0 and subs > 0

    def observe(self, text: str) -> str:
        return plural(sum(1 for line in text.split("\n") if _bullet(line)), "bullet line")


class Thesis(IFBenchConstraint):
    """An italic thesis in HTML followed by more text.

    From the first "<i>" (else "<em>"), to the first "</i>" after it (else "</em>"): the italic text (taken
    from 3 characters after the opening tag's start) is not blank, and the text after the closing tag
    (taken from 4 characters after its start, so "</em>" leaves its ">") is not blank.
    """

    id = "ifbench.format_thesis"
    aliases = (IFBenchAlias("format:thesis"),)
    templates = ("Begin each section with a thesis statement in italics, marked with HTML.",)

    def check_ifbench(self, text: str) -> bool:
        start = text.find("<i>")
        if start == -1:
            start = text.find("<em>")
            if start == -1:
                return False
        value = text[start:]
        end = value.find("</i>")
        if end == -1:
            end = value.find("</em>")
            if end == -1:
                return False
        return value[3:end].strip() != "" and value[end + 4:].strip() != ""


class TitleCase(OffenderCheck):
    """Every ``word_tokenize`` token starting with a letter is capitalised: a one-letter token must not be
    lower case; a longer one fails when its first letter is lower case and the rest is all lower or all
    upper case ("of", "iPHONE"); "NASA" and "eBay" pass."""

    id = "ifbench.format_title_case"
    aliases = (IFBenchAlias("format:title_case"),)
    templates = ("Write the entire response in title case.",)
    clean = "every word capitalised"

    def offender(self, text: str) -> str | None:
        bad = self._bad(text)
        return None if bad is None else f"{bad!r} is not capitalised"

    @staticmethod
    def _bad(text: str) -> str | None:
        for word in lazy_word_tokens(text):  # the first offender ends the search (and the tokenizing)
            if not word or not word[0].isalpha():
                continue
            if len(word) == 1:
                if word[0].islower():
                    return word
                continue
            if word[0].isupper() and word[1:].islower():
                continue
            if word[0].islower() and (word[1:].isupper() or word[1:].islower()):
                return word
        return None


TYPES = (Emoji, LineIndent, List, Newline, NoBulletsBullets, NoWhitespace, Options, OutputTemplate, Parentheses,
         QuoteUnquote, Quotes, SubBullets, Thesis, TitleCase)
