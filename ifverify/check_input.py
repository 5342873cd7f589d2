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

**Unavailable constraints.**  With ``--skip-unknown``, a known constraint that cannot run here (building it
raises :class:`~ifverify.constraints.base.MissingDataError`: data or a package is not installed) is treated the
same way: taken out, put back unscored with the missing-data message as its reason, and reported once per id
(:func:`unavailable`).  Without the flag such a row is an error naming the field, as any bad constraint is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.constraints.base import MissingDataError
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


def unavailable(row: Mapping[str, Any], cache: Any, skip: Sequence[int] = ()) -> list[tuple[int, str, str]]:
    """(position, id, message) of each constraint of ``row`` (positions in ``skip`` aside) whose building raises
    :class:`MissingDataError`; any other problem is left to the scorer to report."""
    native = row.get("constraints") is not None
    kwargs = row.get("kwargs")
    out = []
    for i, name in _ids(row):
        if i in skip:
            continue
        if native:
            spec = row["constraints"][i]
            params, text = spec.get("params"), spec.get("text")
        else:
            params = kwargs[i] if isinstance(kwargs, list) and len(kwargs) > i else None
            text = None
        if params is not None and not isinstance(params, Mapping):
            continue
        try:
            cache.build(name, params, text if isinstance(text, str) else None)
        except MissingDataError as exc:
            out.append((i, name, str(exc)))
        except Exception:  # noqa: S112 - the scorer reports every other problem with its field
            continue
    return out


@dataclass
class UnknownIds:
    """Unknown ids across a file: per id, the number of rows holding it and the first line."""

    seen: dict[str, list[int]] = field(default_factory=dict)
    #: known ids that cannot run here (``--skip-unknown``): the same counts, and the first message per id
    missing: dict[str, list[int]] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)

    def add(self, number: int, found: Sequence[tuple[int, str]]) -> None:
        for name in dict.fromkeys(name for _, name in found):
            entry = self.seen.setdefault(name, [0, number])
            entry[0] += 1

    def add_missing(self, number: int, found: Sequence[tuple[int, str, str]]) -> None:
        for _, name, why in found:
            self.why.setdefault(name, why)
        for name in dict.fromkeys(name for _, name, _ in found):
            entry = self.missing.setdefault(name, [0, number])
            entry[0] += 1

    def lines(self, registry: Registry, skipped: bool) -> list[tuple[int, str]]:
        """(first line, report line) per unknown id, in order of first line, then id."""
        out = []
        for name, (rows, first) in sorted(self.missing.items(), key=lambda kv: (kv[1][1], kv[0])):
            out.append((first, f"constraint {name!r} cannot run here: {rows} row(s) left unscored, first on line "
                               f"{first}: {self.why[name]}"))
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


def restore_unknown(record: dict[str, Any], found: Sequence[tuple[int, str]], modes: Sequence[str],
                    reasons: Mapping[int, str] | None = None) -> dict[str, Any]:
    """Put the taken-out constraints back into a scored record, at their places, as unscored entries: unknown
    ids, or (positions in ``reasons``) constraints that cannot run here, with their reason."""
    if "error" in record or not found:
        return record
    reasons = reasons or {}
    for i, name in sorted(found):
        record["instruction_id_list"].insert(i, name)
        for key in _LISTS:
            if key in record:
                record[key].insert(i, None)
        record["details"].insert(i, {"id": name, "unscored": True, **dict.fromkeys(modes),
                                     "reason": f"unscored: {reasons[i]}" if i in reasons else UNKNOWN_REASON})
    record["unscored"] = [*record.get("unscored", []), *(name for _, name in found)]
    unknown = [name for i, name in found if i not in reasons]
    if unknown:
        record["unknown"] = unknown
    return record
