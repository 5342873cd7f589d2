"""IFEval-style evaluation of whole rows: strict and loose verdicts per instruction, and a summary.

A result record keeps IFEval's field names.  ``follow_instruction_list`` / ``follow_all_instructions``
hold the verdicts of the requested mode; with both modes they hold strict verdicts and
``loose_follow_instruction_list`` / ``loose_follow_all_instructions`` hold the loose ones.  ``details``
gives, per constraint, the type's native id, each mode's verdict and the reason.

Unscored: without soft scores (``ifverify check`` without ``--classifier``) a soft constraint is *unscored*:
its verdicts are ``None`` (in ``follow_instruction_list`` too), its detail has ``"unscored": true`` and a
reason naming ``--classifier``, and the record lists the ids in ``unscored``.  The row keeps its hard verdicts;
``follow_all_instructions`` is over the scored constraints (``None`` when none was scored).  The summary
leaves unscored constraints out of every accuracy, counts them per constraint (``unscored``) and in total,
and a row with nothing scored out of the prompt level.  The summary lists a type once, under the name the
rows used, or under its native id when rows used both it and an alias.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ifverify.constraints.base import HardConstraint
from ifverify.rewards.rows import ConstraintCache, RowError, completion_text, constraints_of, prompt_text
from ifverify.rewards.scoring import LOOSE, STRICT, loose_variants, loose_verdict, strict_verdict
from ifverify.rewards.soft import Query

BOTH = "both"
#: How ``ifverify check`` sets a classifier, named in the reason of an unscored soft constraint.
CHECK_HINT = "pass --classifier SPEC: 'default', a classifier folder or 'judge:<url>'"


def modes_of(mode: str) -> tuple[str, ...]:
    return (STRICT, LOOSE) if mode == BOTH else (mode,)


def soft_queries(rows: Iterable[Mapping[str, Any]], cache: ConstraintCache) -> list[Query]:
    """The distinct (constraint text, response, prompt) queries of the rows' soft constraints (bad rows
    skipped)."""
    queries: set[Query] = set()
    for row in rows:
        try:
            text = completion_text(row["response"])
            prompt = prompt_text(row.get("prompt"))
            queries.update((str(c.text), text, prompt) for c in constraints_of(row, cache) if c.kind == "soft")
        except (RowError, KeyError):
            continue
    return sorted(queries, key=lambda q: (q[0], q[1], q[2] or ""))


def evaluate_row(row: Mapping[str, Any], cache: ConstraintCache, mode: str = BOTH, *,
                 line: int | None = None, detail: bool = True,
                 soft_scores: Mapping[Query, float] | None = None,
                 threshold: float = 0.5) -> dict[str, Any]:
    """The result record of one row (see module doc), or an error record naming the field.

    Soft constraints take their verdict (probability >= ``threshold``, the same in both modes) from
    ``soft_scores``, keyed by (constraint text, response, prompt); without a score they are unscored (module doc).
    """
    record: dict[str, Any] = {"line": line} if line is not None else {}
    for key in ("key", "prompt"):
        if key in row:
            record[key] = row[key]
    try:
        if "response" not in row:
            raise RowError("response", "missing (give each row a response, or pass --responses FILE)")
        text = completion_text(row["response"], "response")
        constraints = constraints_of(row, cache)
    except RowError as exc:
        record["error"] = {"field": exc.field, "problem": exc.problem}
        return record
    ids = [getattr(c, "alias", None) or c.id for c in constraints]
    record["instruction_id_list"] = ids
    record["response"] = text
    modes = modes_of(mode)
    verdicts: dict[str, list[bool | None]] = {m: [] for m in modes}
    details = []
    skipped = []
    variants = loose_variants(text) if LOOSE in modes else None
    prompt = prompt_text(row.get("prompt"))
    for constraint in constraints:
        entry: dict[str, Any] = {"id": constraint.id}
        if not isinstance(constraint, HardConstraint):
            score = None if soft_scores is None else soft_scores.get((str(constraint.text), text, prompt))
            if score is None:
                skipped.append(constraint.id)
                entry.update({"score": None, "unscored": True, **dict.fromkeys(modes)})
                for m in modes:
                    verdicts[m].append(None)
                if detail:
                    entry["reason"] = f"unscored: soft constraints need a classifier ({CHECK_HINT})"
                details.append(entry)
                continue
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
            first = bool(verdicts[modes[0]][-1])
            entry["reason"] = "blank response" if not text.strip() else constraint.explain(text, first)
        details.append(entry)
    first_mode = modes[0]
    record["follow_instruction_list"] = verdicts[first_mode]
    record["follow_all_instructions"] = _all_scored(verdicts[first_mode])
    if len(modes) == 2:
        record["loose_follow_instruction_list"] = verdicts[LOOSE]
        record["loose_follow_all_instructions"] = _all_scored(verdicts[LOOSE])
    if skipped:
        record["unscored"] = skipped
    record["details"] = details
    return record


def _all_scored(verdicts: Sequence[bool | None]) -> bool | None:
    """Every scored verdict holds; None when nothing was scored."""
    scored = [v for v in verdicts if v is not None]
    return all(scored) if scored else None


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
    unscored: int = 0
    prompt: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    instruction: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    per_id: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    #: per native id: the names rows gave it (the id itself or an alias), and its unscored count
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unscored_by_id: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, record: Mapping[str, Any]) -> None:
        self.rows += 1
        if "error" in record:
            self.errors += 1
            return
        natives = [d["id"] for d in record["details"]] if "details" in record else record["instruction_id_list"]
        for given, native in zip(record["instruction_id_list"], natives, strict=True):
            self.names[native].add(given)
        for native in record.get("unscored", ()):
            self.unscored += 1
            self.unscored_by_id[native] += 1
        for m in self.modes:
            verdicts = record[_field(m, self.modes, "follow_instruction_list")]
            if any(ok is not None for ok in verdicts):
                self.prompt[m].add(all(ok for ok in verdicts if ok is not None))
            for native, ok in zip(natives, verdicts, strict=True):
                if ok is not None:
                    self.instruction[m].add(ok)
                    self.per_id[(m, native)].add(ok)

    def label(self, native: str) -> str:
        """The summary's name for a type: the one name rows used, else its native id."""
        used = self.names[native]
        return next(iter(used)) if len(used) == 1 else native

    def to_dict(self) -> dict[str, Any]:
        per: dict[str, dict[str, Any]] = {}
        for native in sorted(self.names, key=self.label):
            entry: dict[str, Any] = {m: _tally(self.per_id[(m, native)]) for m in self.modes}
            if self.unscored:
                entry["unscored"] = self.unscored_by_id.get(native, 0)
            per[self.label(native)] = entry
        out: dict[str, Any] = {
            "rows": self.rows,
            "errors": self.errors,
            "modes": list(self.modes),
            "prompt_level": {m: _tally(self.prompt[m]) for m in self.modes},
            "instruction_level": {m: _tally(self.instruction[m]) for m in self.modes},
            "per_constraint": per,
        }
        if self.unscored:
            out["unscored"] = self.unscored
        return out


def _field(mode: str, modes: Sequence[str], name: str) -> str:
    return f"loose_{name}" if mode == LOOSE and len(modes) == 2 else name


def _tally(t: Tally) -> dict[str, Any]:
    return {"accuracy": t.accuracy, "passed": t.passed, "total": t.total}


def summarize(records: Iterable[Mapping[str, Any]], mode: str) -> Summary:
    summary = Summary(modes_of(mode))
    for record in records:
        summary.add(record)
    return summary
