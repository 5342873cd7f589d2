"""The Reward protocol: one callable for every constraint, shaped as TRL calls a reward function.

``reward(prompts=..., completions=..., **columns) -> list[float | None]``: keywords only, unknown
keywords accepted and ignored, standard strings or conversational message lists.  Each row's
constraints come from its ``constraints`` column (native) or its ``instruction_id_list`` + ``kwargs``
columns (IFEval).  A failure on one sample never raises: it becomes ``None`` or ``0.0``, is counted,
and is logged once.

Without a classifier, soft constraints are *unscored* (:class:`~ifverify.rewards.scoring.Unscored`): a row
that mixes hard and soft constraints keeps its hard verdicts and its reward aggregates the scored ones; a
row with nothing scored is a failure (``None`` or ``0.0``).  The reason names ``classifier_hint``, the knob
that sets a classifier where the Reward was built (``Reward(classifier=...)``, ``--classifier``, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ifverify.constraints.base import Constraint, HardConstraint, Result, SoftConstraint
from ifverify.constraints.registry import Registry
from ifverify.rewards.rows import ConstraintCache, completion_text, constraints_of, prompt_text
from ifverify.rewards.scoring import (
    AGGREGATIONS,
    STRICT,
    aggregate,
    hard_result,
    is_unscored,
    loose_variants,
    parse_mode,
    unscored,
)
from ifverify.rewards.soft import Query, score_queries

log = logging.getLogger("ifverify.reward")

#: How to set a classifier from Python: the default ``classifier_hint``.
PYTHON_HINT = "Reward(classifier=...): 'default', a classifier folder or 'judge:<url>'"


class SoftScorer(Protocol):
    """Anything that scores (constraint text, response) pairs with P(satisfied), in one batched call.

    A scorer that also reads the prompt has ``score_queries(queries)`` over (constraint text, response, prompt or
    None) triples; :func:`ifverify.learned.scorers.score_queries` calls whichever the scorer has.
    """

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> Sequence[float]: ...


@dataclass
class SampleResult:
    """One row's outcome: the reward, each constraint's result, or the error that stopped it."""

    reward: float | None
    results: list[Result] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"reward": self.reward, "results": [r.to_dict() for r in self.results], "error": self.error}


class Reward:
    """A picklable reward function over instruction constraints.

    Args:
        aggregation: "mean" (the paper's), "all" (IFEval's prompt level) or "weighted".
        mode: "strict" or "loose" verdicts for hard constraints.
        weights: for "weighted": weight by constraint id, alias, or kind ("hard"/"soft").
        on_error: "none" (the row is excluded, TRL turns None into NaN) or "zero".
        classifier: for soft constraints: a :class:`SoftScorer`, ``"default"`` (the packaged soft verifier),
            ``"judge:<url>"`` (an LLM judge) or the path of a saved classifier folder (a scorer spec, see
            :mod:`ifverify.learned.scorers`; loaded once per process and shared by every Reward naming it).  It is
            tried on a probe pair at construction, so a missing or broken classifier fails here, not in training.
            Without one, soft constraints are unscored (see the module docstring).
        threshold: probability at which a soft constraint counts as satisfied (for "all" and verdicts);
            default the classifier's own threshold, else 0.5.
        name: the metric key (``__name__``); defaults to ``ifverify_{aggregation}_{mode}``.
        classifier_hint: how a user sets a classifier on the surface that built this Reward, named in the
            reason of an unscored soft constraint; default :data:`PYTHON_HINT`.
    """

    def __init__(self, *, aggregation: str = "mean", mode: str = STRICT, weights: Mapping[str, float] | None = None,
                 on_error: str = "none", classifier: SoftScorer | str | os.PathLike[str] | None = None,
                 threshold: float | None = None, name: str | None = None, registry: Registry | None = None,
                 classifier_hint: str = PYTHON_HINT) -> None:
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")
        if on_error not in ("none", "zero"):
            raise ValueError(f"on_error must be 'none' or 'zero', got {on_error!r}")
        if aggregation == "weighted" and not weights:
            raise ValueError("aggregation 'weighted' needs weights, e.g. {'hard': 1.0, 'soft': 0.5}")
        self.classifier = _resolve_classifier(classifier)
        if threshold is None:
            threshold = float(getattr(self.classifier, "threshold", 0.5))
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold!r}")
        self.aggregation = aggregation
        self.mode = parse_mode(mode)
        self.weights = dict(weights or {})
        self.on_error = on_error
        self.threshold = threshold
        self.__name__ = name or f"ifverify_{aggregation}_{self.mode}"
        self.classifier_hint = classifier_hint
        self._cache = ConstraintCache(registry)
        self.failures = 0
        self.unscored = 0  # soft constraints left unscored (no classifier), counted over the Reward's life

    def __repr__(self) -> str:
        return (f"Reward(aggregation={self.aggregation!r}, mode={self.mode!r}, on_error={self.on_error!r}, "
                f"name={self.__name__!r})")

    # -- the TRL-shaped call ------------------------------------------------------------------------
    def __call__(self, *, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                 **columns: Any) -> list[float | None]:
        results = self.score_batch(prompts=prompts, completions=completions, **columns)
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            failed = sum(1 for r in results if r.error is not None)
            _safe_log(log_metric, f"ifverify/{self.__name__}/failures", float(failed))
        return [r.reward for r in results]

    # -- the batch API ------------------------------------------------------------------------------
    def score_batch(self, *, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                    **columns: Any) -> list[SampleResult]:
        """Per-row results (reward, per-constraint score/verdict/reason, error).  Never raises per row."""
        completions = _batch(completions)
        n = len(completions)
        _check_columns(columns, n)
        rows = [_row(columns, i, n) for i in range(n)]
        prompt_texts = [prompt_text(p) for p in prompts] if prompts is not None and len(prompts) == n else [None] * n
        planned: list[tuple[list[Constraint], str, str | None] | SampleResult] = []
        for row, completion, prompt in zip(rows, completions, prompt_texts, strict=True):
            try:
                planned.append((constraints_of(row, self._cache), completion_text(completion), prompt))
            except Exception as exc:  # a bad row must not stop the batch
                planned.append(self._failure(exc))
        soft_scores = self._score_soft(planned)
        return [p if isinstance(p, SampleResult) else self._finish(*p, soft_scores) for p in planned]

    def _finish(self, constraints: list[Constraint], text: str, prompt: str | None,
                soft_scores: dict[Query, float | Exception]) -> SampleResult:
        try:
            variants = loose_variants(text) if self.mode != STRICT else None
            results = [self._one(c, text, prompt, variants, soft_scores) for c in constraints]
            reward = aggregate(results, constraints, self.aggregation, self.weights, self.threshold)
        except Exception as exc:
            return self._failure(exc)
        skipped = sum(map(is_unscored, results))
        if skipped:
            self._count_unscored(skipped)
            if reward is None:  # nothing was scored: a failure that keeps its per-constraint reasons
                failed = self._failure(RuntimeError(results[0].reason))
                return SampleResult(failed.reward, results, failed.error)
        return SampleResult(reward, results)

    def _one(self, constraint: Constraint, text: str, prompt: str | None, variants: Sequence[str] | None,
             soft_scores: Mapping[Query, float | Exception]) -> Result:
        if isinstance(constraint, HardConstraint):
            return hard_result(constraint, text, self.mode, variants)
        if self.classifier is None:
            return unscored(constraint.id, self.classifier_hint)
        score = soft_scores[(str(constraint.text), text, prompt)]
        if isinstance(score, Exception):
            raise score
        return Result(constraint.id, score, score >= self.threshold, f"P(satisfied) = {score:.3f}")

    def _score_soft(self, planned: Sequence[Any]) -> dict[Query, float | Exception]:
        """Every soft (constraint text, response, prompt) query of the batch, scored in one classifier call."""
        queries = sorted({(str(c.text), p[1], p[2]) for p in planned if not isinstance(p, SampleResult)
                          for c in p[0] if isinstance(c, SoftConstraint)}, key=lambda q: (q[0], q[1], q[2] or ""))
        if not queries or self.classifier is None:
            return {}
        try:
            scores = score_queries(self.classifier, queries)
        except Exception as exc:
            return dict.fromkeys(queries, exc)
        return {query: min(1.0, max(0.0, float(s))) for query, s in zip(queries, scores, strict=True)}

    def _count_unscored(self, count: int) -> None:
        if self.unscored == 0:
            log.warning("%s: soft constraints are left unscored, as no classifier was given; rewards aggregate the "
                        "hard ones. Set one with %s", self.__name__, self.classifier_hint)
        self.unscored += count

    def _failure(self, exc: BaseException) -> SampleResult:
        self.failures += 1
        message = f"{type(exc).__name__}: {exc}"
        if self.failures == 1:
            log.warning("%s: a sample could not be scored (%s); it gets %s. Further failures are counted "
                        "and logged at DEBUG level.", self.__name__, message,
                        "None" if self.on_error == "none" else "0.0")
        else:
            log.debug("%s: sample failure #%d: %s", self.__name__, self.failures, message)
        return SampleResult(None if self.on_error == "none" else 0.0, [], message)

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ClassifierError(ValueError):
    """The configured classifier cannot be loaded or cannot score: raised at Reward construction."""


def _resolve_classifier(classifier: SoftScorer | str | os.PathLike[str] | None) -> SoftScorer | None:
    """Load a classifier named by path (shared per process) and try every classifier on a probe pair."""
    if classifier is None:
        return None
    if isinstance(classifier, str | os.PathLike):
        from ifverify.learned.scorers import load_scorer

        path = os.fspath(classifier)
        try:
            classifier = load_scorer(path)
        except Exception as exc:
            raise ClassifierError(f"cannot load the classifier {path!r}: {exc}") from exc
    if not callable(getattr(classifier, "score_pairs", None)):
        raise ClassifierError(f"classifier must have score_pairs(pairs) or be a folder path, got {classifier!r}")
    try:
        probe = list(classifier.score_pairs([("Answer politely.", "Thank you for asking.")]))
    except Exception as exc:
        raise ClassifierError(f"the classifier failed on a probe pair: {type(exc).__name__}: {exc}") from exc
    if len(probe) != 1 or not 0.0 <= float(probe[0]) <= 1.0:
        raise ClassifierError(f"the classifier must return one probability in [0, 1] per pair, got {probe!r}")
    return classifier


#: The columns a row's constraints come from: each must hold one value per completion.
_CONSTRAINT_COLUMNS = ("constraints", "instruction_id_list", "kwargs")


def _batch(completions: Any) -> Sequence[Any]:
    """The completions; anything but a list-like of completions is a configuration error (a ``str``
    would otherwise be scored one character per completion)."""
    if completions is None:
        raise TypeError("Reward needs completions=[...], one completion per sample")
    if isinstance(completions, str | bytes) or not isinstance(completions, Sequence):
        raise TypeError("Reward needs completions as a list with one completion per sample, got "
                        f"{type(completions).__name__}" + (" (wrap a single completion in a list)"
                                                           if isinstance(completions, str) else ""))
    return completions


def _check_columns(columns: Mapping[str, Any], n: int) -> None:
    """A constraint column given as a list must have one value per completion."""
    for key in _CONSTRAINT_COLUMNS:
        value = columns.get(key)
        if isinstance(value, Sequence) and not isinstance(value, str | bytes) and len(value) != n:
            raise ValueError(f"column {key!r} has {len(value)} value(s) for {n} completion(s): "
                             "give one value per completion")


def _row(columns: Mapping[str, Any], i: int, n: int) -> dict[str, Any]:
    """Row ``i`` of the per-row list columns (scalars and callables such as log_metric are skipped)."""
    row = {}
    for key, value in columns.items():
        if isinstance(value, Sequence) and not isinstance(value, str | bytes) and len(value) == n:
            row[key] = value[i]
    return row


def _safe_log(log_metric: Callable[[str, float], Any], name: str, value: float) -> None:
    try:
        log_metric(name, value)
    except Exception as exc:  # logging must never break training
        log.debug("log_metric(%r) failed: %s", name, exc)
