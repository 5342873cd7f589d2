"""Metrics for a probabilistic binary classifier: ROC-AUC, Kendall tau-b, calibration bins, and a report.

Pure numpy, no scipy or scikit-learn: ROC-AUC counts ties as one half (the Mann-Whitney statistic),
tau-b corrects for ties on both sides, and calibration uses equal-width probability bins.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return np.asarray((ends - counts + 1 + ends) / 2.0)[inverse]


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """P(a random positive scores above a random negative), a tie counting 1/2 (Mann-Whitney U on average
    ranks); ``None`` when the labels hold only one class."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    u = float(_average_ranks(s)[y == 1].sum()) - positives * (positives + 1) / 2
    return u / (positives * negatives)


def _tied_pairs(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    return float((counts * (counts - 1) // 2).sum())


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b: ``(C - D) / sqrt((n0 - n1) * (n0 - n2))`` with ``n0 = n(n-1)/2`` and ``n1``/``n2`` the
    pairs tied in x/y; ``None`` when x or y is constant or n < 2.  It costs O(k² n log n) for k distinct y values,
    so it is meant for labels (k = 2)."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n0 = len(xs) * (len(xs) - 1) / 2
    denominator = (n0 - _tied_pairs(xs)) * (n0 - _tied_pairs(ys))
    if len(xs) < 2 or denominator <= 0:
        return None
    groups = [np.sort(xs[ys == level]) for level in np.unique(ys)]
    balance = 0
    for a, low in enumerate(groups):
        for high in groups[a + 1:]:
            below = np.searchsorted(low, high, side="left")
            above = len(low) - np.searchsorted(low, high, side="right")
            balance += int((below - above).sum())
    return balance / math.sqrt(denominator)


@dataclass(frozen=True)
class CalibrationBin:
    """Scores in [lower, upper) (the last bin includes 1.0); means are ``None`` for an empty bin."""

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed_rate: float | None


def calibration(scores: Sequence[float], labels: Sequence[int], bins: int = 10) -> list[CalibrationBin]:
    """Equal-width bins over [0, 1]: score p falls in bin ``min(floor(p * bins), bins - 1)``."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    index = np.minimum(np.floor(np.clip(s, 0.0, 1.0) * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        chosen = index == b
        count = int(chosen.sum())
        table.append(CalibrationBin(b / bins, (b + 1) / bins, count, float(s[chosen].mean()) if count else None,
                                    float(y[chosen].mean()) if count else None))
    return table


@dataclass(frozen=True)
class EvalReport:
    """Held-out quality of a classifier: accuracy at ``threshold`` (score >= threshold means satisfied)."""

    n: int
    positives: int
    positive_rate: float | None
    threshold: float
    accuracy: float | None
    roc_auc: float | None
    kendall_tau_b: float | None
    calibration: list[CalibrationBin]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def render_table(self) -> str:
        """A plain-text table of the metrics and the calibration bins."""
        def cell(value: float | None) -> str:
            return "-" if value is None else f"{value:.3f}"

        lines = [f"{'n':<15}{self.n}", f"{'positive rate':<15}{cell(self.positive_rate)}",
                 f"{'threshold':<15}{cell(self.threshold)}", f"{'accuracy':<15}{cell(self.accuracy)}",
                 f"{'ROC-AUC':<15}{cell(self.roc_auc)}", f"{'Kendall tau-b':<15}{cell(self.kendall_tau_b)}", "",
                 f"{'bin':<12}{'count':>7}{'mean predicted':>16}{'observed rate':>15}"]
        for b in self.calibration:
            label = f"[{b.lower:.1f}, {b.upper:.1f}{']' if b.upper >= 1 else ')'}"
            lines.append(f"{label:<12}{b.count:>7}{cell(b.mean_predicted):>16}{cell(b.observed_rate):>15}")
        return "\n".join(lines) + "\n"


def evaluate_scores(scores: Sequence[float], labels: Sequence[int], threshold: float = 0.5) -> EvalReport:
    """The :class:`EvalReport` of scores against 0/1 labels."""
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels")
    n, positives = len(labels), int(sum(labels))
    correct = sum(int(score >= threshold) == label for score, label in zip(scores, labels, strict=True))
    return EvalReport(n, positives, positives / n if n else None, threshold, correct / n if n else None,
                      roc_auc(scores, labels), kendall_tau_b(scores, labels), calibration(scores, labels))


def balanced_accuracy(scores: Sequence[float], labels: Sequence[int], threshold: float = 0.5) -> float | None:
    """The mean of the true-positive and true-negative rates at ``threshold``; ``None`` without both classes."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    positives, negatives = y == 1, y == 0
    if not positives.any() or not negatives.any():
        return None
    return float(((s[positives] >= threshold).mean() + (s[negatives] < threshold).mean()) / 2)


def expected_calibration_error(scores: Sequence[float], labels: Sequence[int], bins: int = 10) -> float | None:
    """Sum over the equal-width bins of :func:`calibration` of (share of pairs) x |mean score - observed rate|."""
    n = len(scores)
    if not n:
        return None
    return float(sum(b.count / n * abs(b.mean_predicted - b.observed_rate)
                     for b in calibration(scores, labels, bins) if b.count
                     and b.mean_predicted is not None and b.observed_rate is not None))


def fit_temperature(logits: Sequence[float], labels: Sequence[int]) -> float:
    """The temperature T in [0.05, 20] minimising the binary cross-entropy of ``sigmoid(logit / T)``.

    A golden-section search over log T (the loss is unimodal in it); 1.0 when there is nothing to fit.
    """
    z, y = np.asarray(logits, dtype=float), np.asarray(labels, dtype=float)
    if len(z) == 0 or y.min() == y.max() or not np.isfinite(z).all():
        return 1.0

    def loss(log_t: float) -> float:
        scaled = z / np.exp(log_t)
        return float(np.mean(np.maximum(scaled, 0) - scaled * y + np.log1p(np.exp(-np.abs(scaled)))))

    low, high = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if loss(a) < loss(b):
            high = b
        else:
            low = a
    return round(float(np.exp((low + high) / 2)), 6)
