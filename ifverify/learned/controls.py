"""Honest evaluation of a soft scorer: the metrics, per constraint type, and three controls for shortcuts.

The paper's failure signature is a classifier that rewards features of the response whatever the constraint
says.  The controls make it visible:

* **constraint shuffle**: each positive soft pair's response is scored against its own constraint and against
  another task's soft constraint (the next distinct soft text, in sorted order, from another group); the ROC-AUC
  of telling the two apart.  0.5 means the scorer does not read the constraint.
* **constraint-blind**: a model trained with every constraint text replaced by a fixed string
  (``ifverify rm train --blind``), scored the same way; what the response alone predicts.
* **length only**: a one-feature logistic regression on ``log(1 + characters)`` of the response, fitted on
  the training pairs when given, else two-fold by task on the evaluated pairs.

Metrics: ROC-AUC, balanced accuracy at the threshold, expected calibration error (10 bins) and Kendall tau-b.

Every query carries the pair's prompt (None when the pair has none, or with ``prompts=False``); the shuffled query
keeps the response's own prompt.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ifverify.learned.metrics import balanced_accuracy, expected_calibration_error, kendall_tau_b, roc_auc
from ifverify.learned.pairs import LabelledPair

BLIND_TEXT = "constraint"
Scorer = Callable[[Sequence[tuple[str, str, str | None]]], Sequence[float]]


@dataclass(frozen=True)
class Metrics:
    n: int
    positives: int
    roc_auc: float | None
    balanced_accuracy: float | None
    ece: float | None
    kendall_tau_b: float | None

    @classmethod
    def of(cls, scores: Sequence[float], labels: Sequence[int], threshold: float) -> Metrics:
        return cls(len(labels), int(sum(labels)), roc_auc(scores, labels),
                   balanced_accuracy(scores, labels, threshold), expected_calibration_error(scores, labels),
                   kendall_tau_b(scores, labels))


@dataclass
class ControlledReport:
    """Metrics overall, per kind and per constraint type, and the controls (``None`` when not run)."""

    threshold: float
    overall: Metrics
    per_kind: dict[str, Metrics] = field(default_factory=dict)
    per_type: dict[str, Metrics] = field(default_factory=dict)
    shuffle_roc_auc: float | None = None
    shuffle_pairs: int = 0
    blind_roc_auc: float | None = None
    length_roc_auc: float | None = None

    def to_dict(self) -> dict[str, Any]:
        def plain(m: Metrics) -> dict[str, Any]:
            return dict(m.__dict__)

        return {"threshold": self.threshold, "overall": plain(self.overall),
                "per_kind": {k: plain(m) for k, m in self.per_kind.items()},
                "per_type": {k: plain(m) for k, m in self.per_type.items()},
                "controls": {"constraint_shuffle_roc_auc": self.shuffle_roc_auc, "shuffle_pairs": self.shuffle_pairs,
                             "constraint_blind_roc_auc": self.blind_roc_auc,
                             "length_only_roc_auc": self.length_roc_auc}}

    def render_table(self) -> str:
        def cell(value: float | None) -> str:
            return "-" if value is None else f"{value:.3f}"

        head = f"{'':<28}{'n':>6}{'pos':>6}{'ROC-AUC':>9}{'bal.acc':>9}{'ECE':>7}{'tau-b':>8}"
        rows = [("all", self.overall), *((f"kind {k}", m) for k, m in self.per_kind.items()),
                *self.per_type.items()]
        lines = [head] + [f"{name[:27]:<28}{m.n:>6}{m.positives:>6}{cell(m.roc_auc):>9}"
                          f"{cell(m.balanced_accuracy):>9}{cell(m.ece):>7}{cell(m.kendall_tau_b):>8}"
                          for name, m in rows]
        lines += ["", f"threshold {self.threshold:.3f}", "controls (ROC-AUC):",
                  f"  constraint shuffle  {cell(self.shuffle_roc_auc)}  ({self.shuffle_pairs} responses, own vs "
                  "another task's soft constraint)",
                  f"  constraint-blind    {cell(self.blind_roc_auc)}"
                  f"{'' if self.blind_roc_auc is not None else '  (pass --blind-model, from rm train --blind)'}",
                  f"  length only         {cell(self.length_roc_auc)}"]
        return "\n".join(lines) + "\n"


def shuffled_texts(pairs: Sequence[LabelledPair]) -> list[tuple[LabelledPair, str]]:
    """(positive soft pair, another task's soft constraint text) for every positive soft pair that has one."""
    texts = sorted({p.constraint_text for p in pairs if p.kind == "soft"})
    groups: dict[str, set[str | None]] = {}
    for p in pairs:
        if p.kind == "soft":
            groups.setdefault(p.constraint_text, set()).add(p.group)
    out = []
    for pair in pairs:
        if pair.kind != "soft" or pair.label != 1 or len(texts) < 2:
            continue
        start = texts.index(pair.constraint_text)
        for step in range(1, len(texts)):
            other = texts[(start + step) % len(texts)]
            if pair.group not in groups[other] or pair.group is None:
                out.append((pair, other))
                break
    return out


def _fold(pair: LabelledPair) -> int:
    return hashlib.sha256(pair.split_key.encode()).digest()[0] % 2


def logistic_fit(x: Sequence[float], y: Sequence[int], iterations: int = 50) -> tuple[float, float]:
    """(weight, bias) of a one-feature logistic regression by Newton's method, with a tiny L2 penalty."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    mean, scale = xs.mean(), xs.std() or 1.0
    z = (xs - mean) / scale
    w = b = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(w * z + b)))
        g = np.array([np.sum((p - ys) * z) + 1e-3 * w, np.sum(p - ys)])
        h = p * (1 - p)
        hess = np.array([[np.sum(h * z * z) + 1e-3, np.sum(h * z)], [np.sum(h * z), np.sum(h) + 1e-9]])
        step = np.linalg.solve(hess, g)
        w, b = w - step[0], b - step[1]
    return w / scale, b - w * mean / scale


def length_only_auc(pairs: Sequence[LabelledPair], train_pairs: Sequence[LabelledPair] | None) -> float | None:
    """ROC-AUC of the length-only control (see the module docstring)."""
    def feature(p: LabelledPair) -> float:
        return math.log1p(len(p.response))

    scores = np.zeros(len(pairs))
    if train_pairs:
        w, b = logistic_fit([feature(p) for p in train_pairs], [p.label for p in train_pairs])
        scores = np.array([w * feature(p) + b for p in pairs])
    else:
        folds = np.array([_fold(p) for p in pairs])
        for k in (0, 1):
            fit = [p for p, f in zip(pairs, folds, strict=True) if f != k]
            if len({p.label for p in fit}) < 2:
                return None
            w, b = logistic_fit([feature(p) for p in fit], [p.label for p in fit])
            scores[folds == k] = [w * feature(p) + b for p, f in zip(pairs, folds, strict=True) if f == k]
    return roc_auc(list(scores), [p.label for p in pairs])


def evaluate_with_controls(score: Scorer, pairs: Sequence[LabelledPair], *, threshold: float = 0.5,
                           blind_score: Scorer | None = None,
                           train_pairs: Sequence[LabelledPair] | None = None,
                           prompts: bool = True) -> ControlledReport:
    """The report of the module docstring; ``score`` and ``blind_score`` map (constraint, response, prompt)
    queries to probabilities."""
    def prompt(p: LabelledPair) -> str | None:
        return p.prompt if prompts else None

    shuffled = shuffled_texts(pairs)
    requests = ([(p.constraint_text, p.response, prompt(p)) for p in pairs]
                + [(t, p.response, prompt(p)) for p, t in shuffled])
    scored = list(score(requests))
    scores, other = scored[:len(pairs)], scored[len(pairs):]
    labels = [p.label for p in pairs]
    report = ControlledReport(threshold, Metrics.of(scores, labels, threshold))
    for attribute, target in (("kind", report.per_kind), ("constraint_id", report.per_type)):
        keys = sorted({getattr(p, attribute) for p in pairs if getattr(p, attribute)})
        for key in keys:
            chosen = [i for i, p in enumerate(pairs) if getattr(p, attribute) == key]
            target[key] = Metrics.of([scores[i] for i in chosen], [labels[i] for i in chosen], threshold)
    if shuffled:
        index = {id(p): i for i, p in enumerate(pairs)}
        own = [scores[index[id(p)]] for p, _ in shuffled]
        report.shuffle_roc_auc = roc_auc(own + other, [1] * len(own) + [0] * len(other))
        report.shuffle_pairs = len(shuffled)
    if blind_score is not None:
        report.blind_roc_auc = roc_auc(list(blind_score([(BLIND_TEXT, p.response, prompt(p)) for p in pairs])),
                                       labels)
    report.length_roc_auc = length_only_auc(pairs, train_pairs)
    return report
