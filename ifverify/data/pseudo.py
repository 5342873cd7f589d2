"""Self-supervised pseudo-labels for the soft-constraint classifier (DESIGN §1), and their validation.

For a seed and a level k, the policy answered the Lk instruction (first k constraints, so it contains
c_k) with o_k, and the L(k-1) instruction (it lacks c_k) with o_{k-1}; L0 is the bare seed.  Then
(o_k, c_k) is a positive pair (label 1) and (o_{k-1}, c_k) a negative one (label 0).

Rules of :func:`pseudo_label`, exactly:

- A response row is ``{"id", "seed_id", "level" (0..5), "constraints" (exactly ``level`` native specs),
  "response"}``; a row whose ``error`` is not null is a failed generation (its response is ignored).
  A row that breaks these rules is a :class:`LineError` and is skipped; so is a second row for the
  same (seed_id, level).
- A seed is inconsistent, and skipped whole, when for two consecutive levels a < b present among its
  rows (failed ones included) the first a constraints of Lb differ from La's constraints.
- For k in 1..K, K being the seed's highest level present, the pair of level k is formed when both Lk and
  L(k-1) have responses; otherwise it is listed in ``unformed`` with the levels that failed or are absent.
- ``constraint_text`` is what the classifier sees: a soft spec's text, a hard type's ``instruction()``.
- ``prompt`` (when the response rows carry one) is the Lk instruction, for both pairs of level k: the
  instruction that asks for c_k, as in the paper's released pairs.  The default verifier reads what it asks
  besides c_k.
- Order: by seed_id (string order), then level, the positive before the negative.
- Duplicates: pairs with the same (constraint_text, response), compared exactly, collapse to the first
  one.  When such a key carries both labels (e.g. a response repeated at two levels), every pair with
  it is dropped and counted in ``conflicts_dropped``: there is no telling which label is right.

:func:`validate_labels` checks the pseudo-labels of hard pairs against the deterministic checkers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.constraints.base import HARD, SOFT, Constraint, HardConstraint
from ifverify.constraints.registry import Registry
from ifverify.data.jsonl import LineError, read_jsonl
from ifverify.report import _table
from ifverify.rewards.rows import ConstraintCache, RowError, constraints_of
from ifverify.rewards.scoring import STRICT, loose_verdict, parse_mode, strict_verdict

MAX_LEVEL = 5
POSITIVE = 1
NEGATIVE = 0
_LISTED = 10  # unformed pairs / inconsistent seeds shown in the text report; JSON has them all

Item = tuple[int, dict[str, Any] | LineError]


@dataclass(frozen=True)
class ResponseRow:
    """One valid response row; ``response`` is None for a failed generation."""

    line: int
    id: str
    seed_id: str
    level: int
    specs: list[dict[str, Any]]
    constraints: list[Constraint]
    response: str | None
    prompt: str | None = None


def parse_response_row(number: int, raw: Mapping[str, Any], cache: ConstraintCache) -> ResponseRow | LineError:
    """Check one response row (rules in the module doc); every spec is built, so bad ones surface here."""
    for name in ("id", "seed_id"):
        if not isinstance(raw.get(name), str):
            return LineError(number, name, f"expected a string, got {raw.get(name)!r}")
    level = raw.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
        return LineError(number, "level", f"expected an integer from 0 to {MAX_LEVEL}, got {level!r}")
    specs = raw.get("constraints")
    if not isinstance(specs, list):
        return LineError(number, "constraints", f"expected a list of constraint specs, got {specs!r}")
    if len(specs) != level:
        return LineError(number, "constraints", f"expected {level} constraint(s) for level {level}, got {len(specs)}")
    try:
        built = constraints_of({"constraints": specs}, cache)
    except RowError as exc:
        return LineError(number, exc.field, exc.problem)
    response = raw.get("response")
    if raw.get("error") is not None:
        response = None
    elif "response" not in raw:
        return LineError(number, "response", "missing (and no 'error' recorded for a failed generation)")
    elif not isinstance(response, str):
        return LineError(number, "response", f"expected a string, got {type(response).__name__}")
    prompt = raw.get("prompt")
    return ResponseRow(number, raw["id"], raw["seed_id"], level, specs, built, response,
                       prompt if isinstance(prompt, str) else None)


@dataclass
class PseudoLabelReport:
    """The pairs :func:`pseudo_label` formed, and what happened on the way (see the module doc)."""

    pairs: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    errors: list[LineError] = field(default_factory=list)
    seeds: int = 0
    missing_responses: int = 0
    unformed: list[dict[str, Any]] = field(default_factory=list)
    inconsistent: list[dict[str, str]] = field(default_factory=list)
    duplicates_removed: int = 0
    conflicts_dropped: int = 0
    #: canonical type id -> {"positive": n, "negative": n}, over the kept pairs
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def by_label(self) -> dict[str, int]:
        labels = Counter(p["label"] for p in self.pairs)
        return {"positive": labels[POSITIVE], "negative": labels[NEGATIVE]}

    @property
    def by_kind(self) -> dict[str, int]:
        kinds = Counter(p["kind"] for p in self.pairs)
        return {HARD: kinds[HARD], SOFT: kinds[SOFT]}

    @property
    def positive_share(self) -> float | None:
        """The class balance: positives / pairs (None without pairs)."""
        return self.by_label["positive"] / len(self.pairs) if self.pairs else None

    def to_dict(self) -> dict[str, Any]:
        """Every count (not the pairs themselves), JSON-ready."""
        return {"rows": self.rows, "errors": len(self.errors), "seeds": self.seeds, "pairs": len(self.pairs),
                "by_label": self.by_label, "positive_share": self.positive_share, "by_kind": self.by_kind,
                "by_type": self.by_type, "duplicates_removed": self.duplicates_removed,
                "conflicts_dropped": self.conflicts_dropped, "missing_responses": self.missing_responses,
                "unformed_pairs": self.unformed, "inconsistent_seeds": self.inconsistent}

    def to_text(self, source: str = "", markdown: bool = False) -> str:
        labels, kinds = self.by_label, self.by_kind
        head = (f"{'## ' if markdown else ''}ifverify pseudo-label: {self.rows} rows, {len(self.errors)} error(s), "
                f"{self.seeds} seed(s){f' ({source})' if source else ''}")
        lines = [head, "",
                 f"pairs: {len(self.pairs)} ({labels['positive']} positive, {labels['negative']} negative; "
                 f"positive share {_pct(self.positive_share)})",
                 f"kinds: {kinds[HARD]} hard, {kinds[SOFT]} soft",
                 f"duplicates removed: {self.duplicates_removed}; conflicting pairs dropped: {self.conflicts_dropped}",
                 f"missing responses: {self.missing_responses}; pairs not formed: {len(self.unformed)}; "
                 f"inconsistent seeds: {len(self.inconsistent)}"]
        if self.by_type:
            rows = [[t, str(c["positive"]), str(c["negative"])] for t, c in self.by_type.items()]
            lines += ["", _table(["constraint", "positive", "negative"], rows, markdown)]
        notes = [f"not formed: {u['seed_id']} L{u['level']}: {_why_unformed(u)}" for u in self.unformed]
        notes += [f"inconsistent: {s['seed_id']}: {s['problem']}" for s in self.inconsistent]
        if notes:
            more = [f"... and {len(notes) - _LISTED} more (see --format json)"] if len(notes) > _LISTED else []
            lines += ["", *notes[:_LISTED], *more]
        return "\n".join(lines) + "\n"


def _why_unformed(entry: Mapping[str, Any]) -> str:
    parts = [f"L{k} failed" for k in entry["failed"]] + [f"L{k} absent" for k in entry["absent"]]
    return "; ".join(parts)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def pseudo_label(rows: Iterable[Mapping[str, Any]], *, registry: Registry | None = None) -> PseudoLabelReport:
    """Pseudo-labelled pairs from response rows (rules in the module doc); line numbers count rows from 1."""
    return label_items(_numbered(rows), registry=registry)


def _numbered(rows: Iterable[Any]) -> Iterable[Item]:
    """In-memory rows as (number from 1, row or LineError), like :func:`read_jsonl` gives a file's lines."""
    for number, row in enumerate(rows, start=1):
        if isinstance(row, Mapping):
            yield number, dict(row)
        else:
            yield number, LineError(number, "(json)", f"expected a JSON object, got {type(row).__name__}")


def pseudo_label_file(path: str | Path, out_path: str | Path | None = None, *,
                      registry: Registry | None = None) -> PseudoLabelReport:
    """:func:`pseudo_label` on a JSONL file (bad JSON lines become errors); writes the pairs to ``out_path``."""
    report = label_items(read_jsonl(path), registry=registry)
    if out_path is not None:
        write_jsonl(out_path, report.pairs)
    return report


def label_items(items: Iterable[Item], *, registry: Registry | None = None) -> PseudoLabelReport:
    """The worker behind :func:`pseudo_label`: (line number, row or LineError) in, report out."""
    cache = ConstraintCache(registry)
    report = PseudoLabelReport()
    seeds: dict[str, dict[int, ResponseRow]] = {}
    for number, raw in items:
        report.rows += 1
        row = raw if isinstance(raw, LineError) else parse_response_row(number, raw, cache)
        if isinstance(row, LineError):
            report.errors.append(row)
            continue
        levels = seeds.setdefault(row.seed_id, {})
        if row.level in levels:
            report.errors.append(LineError(number, "level", f"seed {row.seed_id!r} already has a level-{row.level} "
                                           f"row (line {levels[row.level].line}); this one is skipped"))
            continue
        levels[row.level] = row
        report.missing_responses += row.response is None
    report.seeds = len(seeds)
    candidates: list[tuple[dict[str, Any], Constraint]] = []
    for seed_id in sorted(seeds):
        problem = _inconsistency(seeds[seed_id])
        if problem:
            report.inconsistent.append({"seed_id": seed_id, "problem": problem})
        else:
            candidates += _seed_pairs(seed_id, seeds[seed_id], report.unformed)
    kept = _deduplicate(candidates, report)
    report.pairs = [pair for pair, _ in kept]
    by_type: dict[str, Counter[int]] = {}
    for pair, constraint in kept:
        by_type.setdefault(constraint.id, Counter())[pair["label"]] += 1
    report.by_type = {t: {"positive": c[POSITIVE], "negative": c[NEGATIVE]} for t, c in sorted(by_type.items())}
    return report


def _inconsistency(levels: Mapping[int, ResponseRow]) -> str:
    """Why a seed's rows disagree on their constraints (empty when they agree)."""
    present = sorted(levels)
    for low, high in zip(present, present[1:], strict=False):
        if levels[high].specs[:low] != levels[low].specs:
            return (f"the first {low} constraint(s) of L{high} ({levels[high].id}) differ from the constraints "
                    f"of L{low} ({levels[low].id})")
    return ""


def _seed_pairs(seed_id: str, levels: Mapping[int, ResponseRow],
                unformed: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Constraint]]:
    """The positive and negative pair of each level 1..K of one consistent seed, in order."""
    out: list[tuple[dict[str, Any], Constraint]] = []
    for k in range(1, max(levels) + 1):
        upper, lower = levels.get(k), levels.get(k - 1)
        if upper is None or lower is None or upper.response is None or lower.response is None:
            pair_rows = ((k - 1, lower), (k, upper))
            unformed.append({"seed_id": seed_id, "level": k,
                             "failed": [j for j, r in pair_rows if r is not None and r.response is None],
                             "absent": [j for j, r in pair_rows if r is None]})
            continue
        spec, constraint = upper.specs[k - 1], upper.constraints[k - 1]
        for row, label, tag in ((upper, POSITIVE, "pos"), (lower, NEGATIVE, "neg")):
            pair = {"pair_id": f"{seed_id}-L{k}-{tag}", "seed_id": seed_id, "level": k, "constraint": dict(spec),
                    "constraint_id": spec["id"], "kind": constraint.kind,
                    "constraint_text": constraint.instruction(), "response": row.response, "label": label,
                    "source_id": row.id}
            if upper.prompt is not None:
                pair["prompt"] = upper.prompt
            out.append((pair, constraint))
    return out


def _deduplicate(candidates: list[tuple[dict[str, Any], Constraint]],
                 report: PseudoLabelReport) -> list[tuple[dict[str, Any], Constraint]]:
    """First occurrence of each (constraint_text, response); keys seen with both labels drop out whole."""
    labels: dict[tuple[str, str], set[int]] = {}
    for pair, _ in candidates:
        labels.setdefault((pair["constraint_text"], pair["response"]), set()).add(pair["label"])
    kept: list[tuple[dict[str, Any], Constraint]] = []
    seen: set[tuple[str, str]] = set()
    for pair, constraint in candidates:
        key = (pair["constraint_text"], pair["response"])
        if len(labels[key]) > 1:
            report.conflicts_dropped += 1
        elif key in seen:
            report.duplicates_removed += 1
        else:
            seen.add(key)
            kept.append((pair, constraint))
    return kept


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line, UTF-8, non-ASCII kept as is."""
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


# -- validation against the checkers ----------------------------------------------------------------------------
@dataclass
class Tally:
    """Pseudo-labels against checker verdicts, for one constraint type or overall.

    A hit is a pseudo-label the checker agrees with: a positive whose response satisfies c_k, a negative
    whose response violates it.  ``precision`` is the fraction of pseudo-labels that agree with the checker;
    it is the same number as ``accuracy`` (label-checker agreement), reported under both names.  A rate
    with nothing to count is None.
    """

    positives: int = 0
    positive_hits: int = 0
    negatives: int = 0
    negative_hits: int = 0

    def add(self, label: int, satisfied: bool) -> None:
        if label == POSITIVE:
            self.positives += 1
            self.positive_hits += satisfied
        else:
            self.negatives += 1
            self.negative_hits += not satisfied

    @property
    def positive_hit_rate(self) -> float | None:
        return self.positive_hits / self.positives if self.positives else None

    @property
    def negative_hit_rate(self) -> float | None:
        return self.negative_hits / self.negatives if self.negatives else None

    @property
    def accuracy(self) -> float | None:
        total = self.positives + self.negatives
        return (self.positive_hits + self.negative_hits) / total if total else None

    @property
    def precision(self) -> float | None:
        return self.accuracy

    def to_dict(self) -> dict[str, Any]:
        return {"positives": self.positives, "positive_hits": self.positive_hits,
                "positive_hit_rate": self.positive_hit_rate, "negatives": self.negatives,
                "negative_hits": self.negative_hits, "negative_hit_rate": self.negative_hit_rate,
                "precision": self.precision, "accuracy": self.accuracy}


@dataclass
class ValidationReport:
    """How well the pseudo-labels of hard pairs agree with the checkers (per canonical type id, and overall)."""

    mode: str = STRICT
    pairs: int = 0
    soft_skipped: int = 0
    errors: list[LineError] = field(default_factory=list)
    overall: Tally = field(default_factory=Tally)
    per_type: dict[str, Tally] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "pairs": self.pairs, "hard": self.overall.positives + self.overall.negatives,
                "soft_skipped": self.soft_skipped, "errors": len(self.errors), "overall": self.overall.to_dict(),
                "per_type": {t: tally.to_dict() for t, tally in sorted(self.per_type.items())}}

    def to_text(self, source: str = "", markdown: bool = False) -> str:
        """A table: one row per constraint type, then ``all``; and the overall agreement."""
        hard = self.overall.positives + self.overall.negatives
        head = (f"{'## ' if markdown else ''}ifverify validate-labels ({self.mode}): {self.pairs} pairs, {hard} hard "
                f"checked, {self.soft_skipped} soft skipped, {len(self.errors)} error(s)"
                f"{f' ({source})' if source else ''}")
        rows = [_tally_row(t, tally) for t, tally in sorted(self.per_type.items())]
        rows.append(_tally_row("all", self.overall))
        table = _table(["constraint", "positives", "pos hit", "negatives", "neg hit", "agree"], rows, markdown)
        agreement = f"label-checker agreement (accuracy): {_pct(self.overall.accuracy)}"
        return f"{head}\n\n{table}\n\n{agreement}\n"


def _tally_row(name: str, tally: Tally) -> list[str]:
    return [name, str(tally.positives), _pct(tally.positive_hit_rate), str(tally.negatives),
            _pct(tally.negative_hit_rate), _pct(tally.precision)]


def validate_labels(pairs: Iterable[Mapping[str, Any]], *, mode: str = STRICT,
                    registry: Registry | None = None) -> ValidationReport:
    """Check the pseudo-label of every hard pair with the checker (``strict`` or ``loose`` verdicts).

    A pair needs ``constraint`` (a native spec), ``kind`` ("hard" or "soft"), ``response`` (a string) and
    ``label`` (0 or 1).  Soft pairs are counted in ``soft_skipped`` without building their constraint;
    a hard pair's constraint is built through the registry (by canonical type id in ``per_type``).
    A bad pair, or a checker that raises, becomes a :class:`LineError` (pairs numbered from 1).
    """
    return validate_items(_numbered(pairs), mode=mode, registry=registry)


def validate_labels_file(path: str | Path, *, mode: str = STRICT, registry: Registry | None = None) -> ValidationReport:
    """:func:`validate_labels` on a pairs JSONL file (bad JSON lines become errors)."""
    return validate_items(read_jsonl(path), mode=mode, registry=registry)


def validate_items(items: Iterable[Item], *, mode: str = STRICT, registry: Registry | None = None) -> ValidationReport:
    """The worker behind :func:`validate_labels`: (line number, pair or LineError) in, report out."""
    report = ValidationReport(mode=parse_mode(mode))
    check = strict_verdict if report.mode == STRICT else loose_verdict
    cache = ConstraintCache(registry)
    for number, raw in items:
        parsed = raw if isinstance(raw, LineError) else _parse_pair(number, raw, cache)
        if isinstance(parsed, LineError):
            report.errors.append(parsed)
            continue
        report.pairs += 1
        if parsed is None:
            report.soft_skipped += 1
            continue
        constraint, response, label = parsed
        try:
            satisfied = check(constraint, response)
        except Exception as exc:  # a checker bug on one sample is reported, never raised
            report.errors.append(LineError(number, "response", f"the {constraint.id} checker failed: {exc!r}"))
            report.pairs -= 1
            continue
        report.overall.add(label, satisfied)
        report.per_type.setdefault(constraint.id, Tally()).add(label, satisfied)
    return report


def _parse_pair(number: int, raw: Mapping[str, Any],
                cache: ConstraintCache) -> tuple[HardConstraint, str, int] | LineError | None:
    """(constraint, response, label) of a hard pair; None for a soft pair; a LineError for a bad one."""
    label = raw.get("label")
    if isinstance(label, bool) or label not in (POSITIVE, NEGATIVE):
        return LineError(number, "label", f"expected 0 or 1, got {label!r}")
    kind = raw.get("kind")
    if kind not in (HARD, SOFT):
        return LineError(number, "kind", f"expected 'hard' or 'soft', got {kind!r}")
    if kind == SOFT:
        return None
    response = raw.get("response")
    if not isinstance(response, str):
        return LineError(number, "response", f"expected a string, got {type(response).__name__}")
    try:
        (constraint,) = constraints_of({"constraints": [raw.get("constraint")]}, cache)
    except RowError as exc:
        return LineError(number, exc.field.replace("constraints[0]", "constraint", 1), exc.problem)
    if not isinstance(constraint, HardConstraint):
        return LineError(number, "kind", f"'hard', but {constraint.id} is a soft constraint")
    return constraint, response, int(label)
