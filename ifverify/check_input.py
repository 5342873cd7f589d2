"""What ``ifverify check`` does to its input before scoring: join responses by prompt, and find unknown ids.

**Join.**  A responses file maps prompt text to a response.  A prompt on two lines of it is ambiguous:
each such line is an error naming the others, and an input row with that prompt is an error too.  An
input prompt with no exact match falls back to the whitespace-stripped prompts (as IFBench's own
evaluation joins them: keys 0, 1 and 153 of its test set differ from its sample responses by a trailing
space); :class:`Join` counts the rows joined that way, for one note.

**Unknown ids.**  Every id of every row is looked up in the registry before scoring.  :class:`UnknownIds`
aggregates them (count of rows and first line per id) for one report line each, with suggestions from
the id's own family only.  With ``--skip-unknown`` a row's unknown constraints are taken out before it is
scored (:func:`without_unknown`) and put back afterwards as unscored entries (:func:`restore_unknown`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.constraints.registry import Registry
from ifverify.data.jsonl import LineError, read_response_lines

#: The reason given for a constraint whose id is unknown, in the results' details.
UNKNOWN_REASON = "unscored: unknown constraint id (--skip-unknown)"


@dataclass
class Join:
    """The responses of a responses file by exact and by stripped prompt, with the lines they came from."""

    exact: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    stripped: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    #: input lines joined only after stripping whitespace
    fallback_lines: list[int] = field(default_factory=list)

    def join(self, row: dict[str, Any], number: int) -> dict[str, Any] | LineError:
        """The row with its response, or the error naming why it has none."""
        prompt = row.get("prompt")
        if not isinstance(prompt, str):
            return LineError(number, "prompt", "missing or not a string (needed to join --responses)")
        found = self.exact.get(prompt)
        if found is None:
            found = self.stripped.get(prompt.strip())
            if found is not None and len(found) == 1:
                self.fallback_lines.append(number)
        if found is None:
            return LineError(number, "response", "no response with this prompt in the responses file")
        if len(found) > 1:
            lines = ", ".join(str(line) for line, _ in found)
            return LineError(number, "response", f"ambiguous: the responses file has this prompt on lines {lines}")
        return {**row, "response": found[0][1]}


def read_join(path: str | Path) -> tuple[Join, list[LineError]]:
    """The responses file as a :class:`Join`, and its bad lines (duplicate prompts included)."""
    join = Join()
    errors: list[LineError] = []
    for item in read_response_lines(path):
        if isinstance(item, LineError):
            errors.append(item)
        else:
            number, prompt, response = item
            join.exact.setdefault(prompt, []).append((number, response))
    for prompt, found in join.exact.items():
        join.stripped.setdefault(prompt.strip(), []).extend(found)
        if len(found) > 1:
            lines = [line for line, _ in found]
            errors.extend(LineError(line, "prompt", "duplicate prompt: the same prompt is on lines "
                                    + ", ".join(map(str, lines))) for line in lines)
    errors.sort(key=lambda e: e.line)
    return join, errors


def fallback_note(lines: Sequence[int]) -> str:
    """The one note for rows joined by stripped prompt."""
    shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
    return (f"note: {len(lines)} row(s) matched a response only after stripping whitespace from the prompts "
            f"(line(s) {shown}), as IFBench's evaluation joins them")


def _ids(row: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(position, id) of each well-formed id of a row; malformed ones are left to the scorer to report."""
    if row.get("constraints") is not None:
        specs = row["constraints"]
        if not isinstance(specs, list):
            return []
        return [(i, s["id"]) for i, s in enumerate(specs) if isinstance(s, Mapping) and isinstance(s.get("id"), str)]
    ids = row.get("instruction_id_list")
    if not isinstance(ids, list):
        return []
    return [(i, name) for i, name in enumerate(ids) if isinstance(name, str)]


def unknown_ids(row: Mapping[str, Any], registry: Registry) -> list[tuple[int, str]]:
    """(position, id) of each id of ``row`` that no registered type answers to."""
    return [(i, name) for i, name in _ids(row) if name not in registry]


@dataclass
class UnknownIds:
    """Unknown ids across a file: per id, the number of rows holding it and the first line."""

    seen: dict[str, list[int]] = field(default_factory=dict)

    def add(self, number: int, found: Sequence[tuple[int, str]]) -> None:
        for name in dict.fromkeys(name for _, name in found):
            entry = self.seen.setdefault(name, [0, number])
            entry[0] += 1

    def lines(self, registry: Registry, skipped: bool) -> list[tuple[int, str]]:
        """(first line, report line) per unknown id, in order of first line, then id."""
        out = []
        for name, (rows, first) in sorted(self.seen.items(), key=lambda kv: (kv[1][1], kv[0])):
            what = "left unscored" if skipped else "not scored"
            out.append((first, f"unknown constraint id {name!r}: {rows} row(s) {what}, first on line {first}."
                               + hint(registry, name)))
        return out


def hint(registry: Registry, name: str) -> str:
    """" Did you mean ...?" with the registry's suggestions from the id's own family, or ""."""
    found = registry.suggest(name)
    return f" Did you mean {', '.join(repr(h) for h in found)}?" if found else ""


def unknown_error(number: int, row: Mapping[str, Any], found: Sequence[tuple[int, str]],
                  registry: Registry) -> LineError:
    """The error record of a row holding unknown ids (without ``--skip-unknown``): the field of the one
    unknown id with its hint, or the list field naming them all."""
    native = row.get("constraints") is not None
    field_name = "constraints" if native else "instruction_id_list"
    if len(found) == 1:
        where, name = found[0]
        return LineError(number, f"{field_name}[{where}]{'.id' if native else ''}",
                         f"unknown constraint id {name!r}.{hint(registry, name)}")
    names = ", ".join(repr(name) for name in dict.fromkeys(name for _, name in found))
    return LineError(number, field_name, f"unknown constraint ids {names} (--skip-unknown scores the others)")


def without_unknown(row: dict[str, Any], found: Sequence[tuple[int, str]]) -> dict[str, Any]:
    """The row with the constraints at the ``found`` positions taken out."""
    drop = {i for i, _ in found}
    if row.get("constraints") is not None:
        return {**row, "constraints": [s for i, s in enumerate(row["constraints"]) if i not in drop]}
    out = {**row, "instruction_id_list": [n for i, n in enumerate(row["instruction_id_list"]) if i not in drop]}
    kwargs = row.get("kwargs")
    if isinstance(kwargs, list) and len(kwargs) == len(row["instruction_id_list"]):
        out["kwargs"] = [k for i, k in enumerate(kwargs) if i not in drop]
    return out


_LISTS = ("follow_instruction_list", "loose_follow_instruction_list")


def restore_unknown(record: dict[str, Any], found: Sequence[tuple[int, str]], modes: Sequence[str]) -> dict[str, Any]:
    """Put the unknown constraints back into a scored record, at their places, as unscored entries."""
    if "error" in record or not found:
        return record
    for i, name in sorted(found):
        record["instruction_id_list"].insert(i, name)
        for key in _LISTS:
            if key in record:
                record[key].insert(i, None)
        record["details"].insert(i, {"id": name, "unscored": True, **dict.fromkeys(modes),
                                     "reason": UNKNOWN_REASON})
    record["unscored"] = [*record.get("unscored", []), *(name for _, name in found)]
    record["unknown"] = [name for _, name in found]
    return record
