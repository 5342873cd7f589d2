"""IFEval-style evaluation of whole rows: strict and loose verdicts per instruction, and a summary.

A result record keeps IFEval's field names.  ``follow_instruction_list`` / ``follow_all_instructions``
hold the verdicts of the requested mode; with both modes they hold strict verdicts and
``loose_follow_instruction_list`` / ``loose_follow_all_instructions`` hold the loose ones.  ``details``
gives, per constraint, the type's native id, each mode's verdict and the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ifverify.constraints.base import HardConstraint
from ifverify.rewards.rows import ConstraintCache, RowError, completion_text, constraints_of
from ifverify.rewards.scoring import LOOSE, STRICT, loose_variants, loose_verdict, strict_verdict

BOTH = "both"


def modes_of(mode: str) -> tuple[str, ...]:
    return (STRICT, LOOSE) if mode == BOTH else (mode,)


def soft_pairs(rows: Iterable[Mapping[str, Any]], cache: ConstraintCache) -> list[tuple[str, str]]:
    """The distinct (constraint text, response) pairs of the rows' soft constraints (bad rows skipped)."""
    pairs: set[tuple[str, str]] = set()
    for row in rows:
        try:
            text = completion_text(row["response"])
            pairs.update((str(c.text), text) for c in constraints_of(row, cache) if c.kind == "soft")
        except (RowError, KeyError):
            continue
    return sorted(pairs)


def evaluate_row(row: Mapping[str, Any], cache: ConstraintCache, mode: str = BOTH, *,
                 line: int | None = None, detail: bool = True,
                 soft_scores: Mapping[tuple[str, str], float] | None = None,
                 threshold: float = 0.5) -> dict[str, Any]:
    """The result record of one row (see module doc), or an error record naming the field.

    Soft constraints take their verdict (probability >= ``threshold``, the same in both modes) from
    ``soft_scores``, keyed by (constraint text, response); without it a row with a soft constraint is
    an error record.
    """
    record: dict[str, Any] = {"line": line} if line is not None else {}
    for key in ("key", "prompt"):
        if key in row:
            record[key] = row[key]
    try:
        if "response" not in row:
            raise RowError("response", "missing (give each row a response, or pass --responses FILE)")
        text = completion_text(row["response"])
        constraints = constraints_of(row, cache)
    except RowError as exc:
        record["error"] = {"field": exc.field, "problem": exc.problem}
        return record
    ids = [getattr(c, "alias", None) or c.id for c in constraints]
    record["instruction_id_list"] = ids
    record["response"] = text
    modes = modes_of(mode)
    verdicts: dict[str, list[bool]] = {m: [] for m in modes}
    details = []
    variants = loose_variants(text) if LOOSE in modes else None
    for constraint in constraints:
        entry: dict[str, Any] = {"id": constraint.id}
        if not isinstance(constraint, HardConstraint):
            score = None if soft_scores is None else soft_scores.get((str(constraint.text), text))
            if score is None:
                record["error"] = {"field": "constraints", "problem": f"{constraint.id} is a soft constraint: "
                                   "pass --classifier DIR to score it"}
                return record
            entry["score"] = score
            for m in modes:
                verdicts[m].append(score >= threshold)
                entry[m] = score >= threshold
            if detail:
                entry["reason"] = f"P(satisfied) = {score:.3f}"
            details.append(entry)
            continue
        for m in modes:
            ok = strict_verdict(constraint, text) if m == STRICT else loose_verdict(constraint, text, variants)
            verdicts[m].append(ok)
            entry[m] = ok
        if detail:
            first = verdicts[modes[0]][-1]
            entry["reason"] = "blank response" if not text.strip() else constraint.explain(text, first)
        details.append(entry)
    first_mode = modes[0]
    record["follow_instruction_list"] = verdicts[first_mode]
    record["follow_all_instructions"] = all(verdicts[first_mode])
    if len(modes) == 2:
        record["loose_follow_instruction_list"] = verdicts[LOOSE]
        record["loose_follow_all_instructions"] = all(verdicts[LOOSE])
    record["details"] = details
    return record


@dataclass
class Tally:
    passed: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.passed += ok
        self.total += 1

    @property
    def accuracy(self) -> float | None:
        return self.passed / self.total if self.total else None


@dataclass
class Summary:
    """Prompt- and instruction-level accuracy per mode, and per constraint id."""

    modes: tuple[str, ...]
    rows: int = 0
    errors: int = 0
    prompt: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    instruction: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    per_id: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))

    def add(self, record: Mapping[str, Any]) -> None:
        self.rows += 1
        if "error" in record:
            self.errors += 1
            return
        for m in self.modes:
            verdicts = record[_field(m, self.modes, "follow_instruction_list")]
            self.prompt[m].add(all(verdicts))
            for given, ok in zip(record["instruction_id_list"], verdicts, strict=True):
                self.instruction[m].add(ok)
                self.per_id[(m, given)].add(ok)

    def to_dict(self) -> dict[str, Any]:
        ids = sorted({i for _, i in self.per_id})
        return {
            "rows": self.rows,
            "errors": self.errors,
            "modes": list(self.modes),
            "prompt_level": {m: _tally(self.prompt[m]) for m in self.modes},
            "instruction_level": {m: _tally(self.instruction[m]) for m in self.modes},
            "per_constraint": {i: {m: _tally(self.per_id[(m, i)]) for m in self.modes} for i in ids},
        }


def _field(mode: str, modes: Sequence[str], name: str) -> str:
    return f"loose_{name}" if mode == LOOSE and len(modes) == 2 else name


def _tally(t: Tally) -> dict[str, Any]:
    return {"accuracy": t.accuracy, "passed": t.passed, "total": t.total}


def summarize(records: Iterable[Mapping[str, Any]], mode: str) -> Summary:
    summary = Summary(modes_of(mode))
    for record in records:
        summary.add(record)
    return summary
