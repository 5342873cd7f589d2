"""Training the feature verifier (:mod:`ifverify.learned.feature_verifier`) on labelled pairs.

The same data rules as the cross-encoder trainer (:mod:`ifverify.learned.pairs`): a validation split by task, the
optional checker labels for hard pairs, and the context positives and shuffle negatives added to the training split
only.  ``kinds`` restricts the *training* pairs and the pairs the temperature is fitted on (the default verifier
trains on soft pairs, the kind it scores); the validation metrics are reported for every kind.  With
``class_balance`` each positive weighs negatives/positives in the loss.  The fit is Newton's method on the
penalised BCE, so the "history" is the training loss per Newton iteration, from ln 2 down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ifverify.learned.controls import BLIND_TEXT
from ifverify.learned.feature_verifier import FeatureVerifier, fit_logistic
from ifverify.learned.features import pair_features
from ifverify.learned.metrics import evaluate_scores, fit_temperature
from ifverify.learned.pairs import LabelledPair, data_digest, prepare_pairs


@dataclass
class FeatureTrainReport:
    out_dir: str
    train_size: int
    eval_size: int
    temperature: float
    seconds: float
    loss_history: list[float] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _features(verifier: FeatureVerifier, pairs: list[LabelledPair]) -> Any:
    cosines = verifier.cosines([(p.constraint_text, p.response) for p in pairs])
    return np.array([pair_features(p.constraint_text, p.response, c) for p, c in zip(pairs, cosines, strict=True)])


def _bce(z: Any, y: Any, weight: Any) -> float:
    return float(np.sum(weight * (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))) / np.sum(weight))


def train_features(data_path: str | Path, out_dir: str | Path, *, kinds: tuple[str, ...] | None = ("soft",),
                   eval_fraction: float = 0.15, seed: int = 0, labels: str = "pseudo", shuffle_negatives: int = 2,
                   context_positives: bool = True, blind: bool = False, l2: float = 1.0,
                   max_length: int = 256, class_balance: bool = True) -> FeatureTrainReport:
    """Fit, calibrate on the validation split, evaluate and save a feature verifier to ``out_dir``."""
    if not 0 <= eval_fraction < 1 or l2 < 0 or max_length < 4:
        raise ValueError(f"need 0 <= eval_fraction < 1, l2 >= 0 and max_length >= 4; got {eval_fraction!r}, "
                         f"{l2!r}, {max_length!r}")
    started = time.monotonic()
    prepared = prepare_pairs(data_path, labels=labels, eval_fraction=eval_fraction, seed=seed,
                             shuffle_negatives=shuffle_negatives, context_positives=context_positives, kinds=kinds)
    train_rows, eval_rows, relabelled = prepared.train, prepared.held_out, prepared.relabelled
    if blind:
        train_rows = [replace(p, constraint_text=BLIND_TEXT) for p in train_rows]
        eval_rows = [replace(p, constraint_text=BLIND_TEXT) for p in eval_rows]
    dims = len(pair_features("", "", 0.0))
    verifier = FeatureVerifier([0.0] * dims, 0.0, [0.0] * dims, [1.0] * dims, max_length=max_length)
    x = _features(verifier, train_rows)
    y = np.array([p.label for p in train_rows], dtype=float)
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    standard = (x - mean) / scale
    positives = y.sum()
    weight = np.where(y == 1, (len(y) - positives) / positives, 1.0) if class_balance else np.ones(len(y))
    history = [round(_bce(np.zeros(len(y)), y, weight), 6)]
    for iterations in (1, 2, 4, 8, 100):
        w, b = fit_logistic(standard, y, l2=l2, iterations=iterations, sample_weight=weight)
        history.append(round(_bce(standard @ w + b, y, weight), 6))
    verifier.weights, verifier.bias, verifier.mean, verifier.scale = w, b, mean, scale
    temperature = 1.0
    calibration_rows = [p for p in eval_rows if kinds is None or (p.kind or "soft") in kinds]
    if calibration_rows:
        logits = verifier.logits(_features(verifier, calibration_rows))
        temperature = fit_temperature(list(logits), [p.label for p in calibration_rows])
    verifier.temperature = temperature
    validation: dict[str, Any] = {}
    for kind in ("soft", "hard", "all"):
        chosen = [p for p in eval_rows if kind == "all" or p.kind == kind]
        if chosen:
            scores = verifier.score_pairs([(p.constraint_text, p.response) for p in chosen])
            validation[kind] = evaluate_scores(scores, [p.label for p in chosen], verifier.threshold).to_dict()
    settings = {"kinds": list(kinds) if kinds else None, "eval_fraction": eval_fraction, "seed": seed,
                "labels": labels, "shuffle_negatives": shuffle_negatives, "context_positives": context_positives,
                "blind": blind, "l2": l2, "max_length": max_length, "class_balance": class_balance}
    verifier.training = {"data_sha256": data_digest(data_path), "settings": settings, "loss_history": history,
                         "relabelled": relabelled, "train_pairs": len(train_rows), "validation_pairs": len(eval_rows),
                         "validation": validation}
    verifier.save(out_dir)
    return FeatureTrainReport(str(out_dir), len(train_rows), len(eval_rows), temperature,
                              round(time.monotonic() - started, 3), history, validation)
