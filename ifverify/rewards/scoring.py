"""Strict and loose verdicts, and the aggregation of per-constraint results into one reward.

Strict: the constraint's check on the response, and blank responses fail everything (IFEval's rule).
Loose: the response passes if any of eight variants passes: the response, the response without its
first line, without its last line, without both (those three stripped), and each of these four with
every ``*`` removed.

Unscored: a soft constraint scored without a classifier gets an :class:`Unscored` result (no score, no
verdict, a reason naming the knob that sets a classifier); aggregation runs over the scored constraints only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ifverify.constraints.base import Constraint, HardConstraint, Result

STRICT = "strict"
LOOSE = "loose"
MODES = (STRICT, LOOSE)
AGGREGATIONS = ("mean", "all", "weighted")


@dataclass(frozen=True)
class Unscored(Result):
    """A soft constraint left unscored because no classifier was given.

    ``score`` is 0.0 only to keep :class:`Result`'s type; it never enters an aggregate
    (:func:`aggregate` skips unscored results), and :meth:`to_dict` gives ``"score": None`` and
    ``"unscored": True``.
    """

    unscored = True

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "score": None, "unscored": True}


def unscored(constraint_id: str, hint: str) -> Unscored:
    """The result of a soft constraint with no classifier; ``hint`` names how to set one on this surface."""
    return Unscored(constraint_id, 0.0, None, f"unscored: soft constraints need a classifier ({hint})")


def is_unscored(result: Result) -> bool:
    return isinstance(result, Unscored)


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
    then its kind ("hard"/"soft"), then 1.0.  Unscored results (:class:`Unscored`) are left out; no
    constraints, or none scored: None (not applicable).
    """
    if any(isinstance(r, Unscored) for r in results):
        kept = [(r, c) for r, c in zip(results, constraints, strict=True) if not isinstance(r, Unscored)]
        results, constraints = [r for r, _ in kept], [c for _, c in kept]
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
