"""Strict and loose verdicts, and the aggregation of per-constraint results into one reward.

Strict: the constraint's check on the response, and blank responses fail everything (IFEval's rule).
Loose: the response passes if any of eight variants passes: the response, the response without its
first line, without its last line, without both (those three stripped), and each of these four with
every ``*`` removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ifverify.constraints.base import Constraint, HardConstraint, Result

STRICT = "strict"
LOOSE = "loose"
MODES = (STRICT, LOOSE)
AGGREGATIONS = ("mean", "all", "weighted")


def loose_variants(text: str) -> tuple[str, ...]:
    """The eight texts loose mode tries, in IFEval's order: the response, the response without ``*``,
    then the three line cuts (each stripped), then those three cuts without ``*``."""
    lines = text.split("\n")
    cuts = ("\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip())
    return (text, text.replace("*", ""), *cuts, *(cut.replace("*", "") for cut in cuts))


def strict_verdict(constraint: HardConstraint, text: str) -> bool:
    """The constraint's verdict on ``text``; a blank text follows nothing."""
    return bool(text.strip()) and constraint.check(text)


def loose_verdict(constraint: HardConstraint, text: str, variants: Sequence[str] | None = None) -> bool:
    """True when any loose variant of ``text`` (see module doc) is non-blank and passes.

    Checks are pure, so a variant equal to one already tried (a text without ``*`` repeats half of
    them) is not checked again: the verdict is the same, the work is not.
    """
    if strict_verdict(constraint, text):
        return True
    tried = {text}
    for variant in (variants or loose_variants(text))[1:]:
        if variant in tried:
            continue
        tried.add(variant)
        if variant.strip() and constraint.check(variant):
            return True
    return False


def hard_result(constraint: HardConstraint, text: str, mode: str, variants: Sequence[str] | None = None,
                *, detail: bool = True) -> Result:
    """A hard constraint's :class:`Result` in ``mode``; the reason is computed only with ``detail``."""
    ok = strict_verdict(constraint, text) if mode == STRICT else loose_verdict(constraint, text, variants)
    if not detail:
        return Result(constraint.id, 1.0 if ok else 0.0, ok)
    reason = "blank response" if not text.strip() else constraint.explain(text, ok)
    return Result(constraint.id, 1.0 if ok else 0.0, ok, reason)


def aggregate(results: Sequence[Result], constraints: Sequence[Constraint], how: str,
              weights: Mapping[str, float] | None = None, threshold: float = 0.5) -> float | None:
    """One reward from per-constraint results.

    ``mean``: the mean score (the paper's reward).  ``all``: 1.0 when every verdict holds (IFEval's
    prompt-level accuracy), else 0.0; a soft verdict holds when its probability reaches ``threshold``.
    ``weighted``: the weighted mean; a constraint's weight is looked up by its id, then its alias,
    then its kind ("hard"/"soft"), then 1.0.  No constraints: None (not applicable).
    """
    if not results:
        return None
    if how == "all":
        return 1.0 if all(r.score >= threshold if r.verdict is None else r.verdict for r in results) else 0.0
    if how == "mean" or not weights:
        return sum(r.score for r in results) / len(results)
    total = norm = 0.0
    for result, constraint in zip(results, constraints, strict=True):
        w = weight_of(constraint, weights)
        total += w * result.score
        norm += w
    return total / norm if norm > 0 else None


def weight_of(constraint: Constraint, weights: Mapping[str, float]) -> float:
    for key in (constraint.id, getattr(constraint, "alias", None), constraint.kind):
        if key is not None and key in weights:
            return float(weights[key])
    return 1.0


def parse_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return str(mode)
