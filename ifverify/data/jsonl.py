"""JSONL input for ``ifverify check``: IFEval's input + response files, single files, the native format.

Every line becomes either a row (a dict) or a :class:`LineError` that names the line, the field and
the problem, so one bad line never stops the others from being scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LineError:
    """A line that cannot be scored."""

    line: int
    field: str
    problem: str
    #: the row's ``key`` and ``prompt`` where the line parsed (a join failure), for its error record
    context: dict[str, Any] | None = dataclass_field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.problem}"

    def with_context(self, row: dict[str, Any]) -> LineError:
        """This error, carrying ``row``'s ``key`` and ``prompt`` into its record."""
        return replace(self, context={k: row[k] for k in ("key", "prompt") if k in row})

    def record(self, row: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line}
        row = row if row is not None else self.context
        for key in ("key", "prompt"):
            if row and key in row:
                out[key] = row[key]
        out["error"] = {"field": self.field, "problem": self.problem}
        return out


def _parse(number: int, line: str) -> dict[str, Any] | LineError:
    """The JSON object on line ``number``, or the error that names why it is not one."""
    try:
        row = json.loads(line)
    except ValueError as exc:
        return LineError(number, "(json)", f"not valid JSON ({exc})")
    except RecursionError:
        return LineError(number, "(json)", "nested too deeply to parse")
    if not isinstance(row, dict):
        return LineError(number, "(json)", f"expected a JSON object, got {type(row).__name__}")
    return row


def read_jsonl(path: str | Path, *, blank_errors: bool = False) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(line number, row or error) for each non-blank line; numbering starts at 1 (see :func:`read_jsonl_lines`)."""
    return read_jsonl_lines(path, blank_errors=blank_errors)


def read_jsonl_lines(path: str | Path, *,
                     blank_errors: bool = False) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(line number, object or error) for each non-blank line, numbered from 1; never raises on content.

    It reads bytes, so a line that is not UTF-8 is an error for that line only, and so is a line nested
    too deeply to parse.  A UTF-8 byte-order mark on line 1 is ignored.  With ``blank_errors`` a blank
    line is an error too (JSON Lines has none), so every line gets an answer.
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = f"not valid UTF-8 ({exc.reason} at byte offset {exc.start})"
                yield number, LineError(number, "(encoding)", problem)
                continue
            if number == 1:
                line = line.removeprefix("\ufeff")
            if line.strip():
                yield number, _parse(number, line.rstrip("\r\n"))
            elif blank_errors:
                yield number, LineError(number, "(line)", "blank line (JSON Lines holds one object per line)")


def read_response_lines(path: str | Path) -> Iterator[tuple[int, str, Any] | LineError]:
    """IFEval's response file, line by line: ``(line, prompt, response)``, or the error naming a bad line.
    ``ifverify check`` joins them to its input by prompt (:mod:`ifverify.check_input`)."""
    for number, row in read_jsonl(path):
        if isinstance(row, LineError):
            yield row
        elif not isinstance(row.get("prompt"), str):
            yield LineError(number, "prompt", "missing or not a string in the responses file")
        elif "response" not in row:
            yield LineError(number, "response", "missing in the responses file")
        else:
            yield number, row["prompt"], row["response"]
