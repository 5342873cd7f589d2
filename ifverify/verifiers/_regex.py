"""Patterns that cannot hang: user-supplied regular expressions run with a time budget.

Under IFEval semantics a constraint's params are regular expressions (IFEval feeds keywords, section
splitters and postscript markers to ``re`` unescaped), and a JSON Schema ``pattern`` is one too.  A
pattern such as ``(a|aa)+$`` backtracks for exponential time on a short text, and Python's ``re`` holds
the interpreter until it is done.  These patterns therefore run on the ``regex`` module, which stops a
search after a time budget (``timeout=``).  In its VERSION0 mode it is a re-compatible engine (same
syntax, same zero-width match rules, simple case folding): the IFEval reference set gets identical
verdicts, and ``tests/verifiers/test_regex.py`` compares it with ``re`` on ordinary patterns.

It is also the faster engine for long case-insensitive literals, which ``re`` matches in time
proportional to ``len(text) * len(keyword)``.

A search that runs past :data:`PATTERN_BUDGET_S` raises :class:`PatternBudgetError`: one sample fails
(``Reward`` counts it, ``check`` reports an error for that line), nothing hangs.
"""

from __future__ import annotations

import re
from typing import Any

from ifverify.constraints.base import short_repr

#: CPU seconds (the ``regex`` module's clock) one search, findall or split of a user-supplied pattern
#: may take on one text.  Ordinary patterns take under 0.04 s on a 1 MB text.
PATTERN_BUDGET_S = 0.1

_FLAGS = ((re.IGNORECASE, "IGNORECASE"), (re.MULTILINE, "MULTILINE"), (re.DOTALL, "DOTALL"))


class PatternBudgetError(RuntimeError):
    """A user-supplied pattern ran past its time budget on one text (a per-sample failure)."""


class SafePattern:
    """A compiled pattern whose ``search``, ``findall`` and ``split`` stop after the time budget.

    Raises ValueError where the engine rejects the pattern.

    ``origin`` names what the pattern came from ("keywords:existence: keywords '(a+)+$'") for the
    error message.  Pickles by source (the compiled engine object is rebuilt).
    """

    __slots__ = ("pattern", "flags", "origin", "hint", "_compiled")

    def __init__(self, pattern: str, flags: int = 0, origin: str = "pattern", hint: str = "") -> None:
        self.pattern = pattern
        self.flags = flags
        self.origin = origin
        self.hint = hint
        import regex  # only patterns with regex syntax need it: plain ones run on re

        engine_flags = regex.VERSION0
        for std, name in _FLAGS:
            if flags & std:
                engine_flags |= getattr(regex, name)
        try:
            # Not through regex's own cache: it evicts with the global random generator.
            self._compiled = regex.compile(pattern, engine_flags, cache_pattern=False)
        except regex.error as exc:
            raise ValueError(str(exc)) from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (SafePattern, (self.pattern, self.flags, self.origin, self.hint))

    def _timed_out(self) -> PatternBudgetError:
        return PatternBudgetError(f"{self.origin}: the regular expression ran past its {PATTERN_BUDGET_S} s "
                                  f"budget on this text (it backtracks catastrophically){self.hint}")

    def search(self, text: str) -> Any:
        try:
            return self._compiled.search(text, timeout=PATTERN_BUDGET_S)
        except TimeoutError:
            raise self._timed_out() from None

    def findall(self, text: str) -> list[Any]:
        try:
            found = self._compiled.findall(text, timeout=PATTERN_BUDGET_S)
        except TimeoutError:
            raise self._timed_out() from None
        if self._compiled.groups == 1:  # re gives the group's text; this regex release a 1-tuple
            return [item[0] if isinstance(item, tuple) else item for item in found]
        return found

    def split(self, text: str) -> list[str]:
        try:
            return self._compiled.split(text, timeout=PATTERN_BUDGET_S)
        except TimeoutError:
            raise self._timed_out() from None


def bounded_search(pattern: str, text: str) -> bool:
    """``re.search(pattern, text) is not None`` within the budget (JSON Schema's ``pattern`` keyword).

    Compiled patterns are kept per pattern string, a few hundred at most.
    """
    compiled = _SCHEMA_PATTERNS.get(pattern)
    if compiled is None:
        compiled = SafePattern(pattern, 0, f"JSON Schema pattern {short_repr(pattern)}")
        if len(_SCHEMA_PATTERNS) >= _SCHEMA_PATTERN_LIMIT:
            _SCHEMA_PATTERNS.clear()
        _SCHEMA_PATTERNS[pattern] = compiled
    return compiled.search(text) is not None


_SCHEMA_PATTERN_LIMIT = 256
_SCHEMA_PATTERNS: dict[str, SafePattern] = {}
