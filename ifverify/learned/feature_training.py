"""Training the feature verifier (:mod:`ifverify.learned.feature_verifier`) on labelled pairs.

The same data rules as the cross-encoder trainer (:mod:`ifverify.learned.pairs`): a validation split by task, the
optional checker labels for hard pairs, and the context positives and shuffle negatives added to the training split
only.  ``kinds`` restricts the *training* pairs and the pairs the temperatures are fitted on (the default verifier
trains on soft pairs, the kind it scores); the validation metrics are reported for every kind.

Steps: the prior is the first ``components`` principal components of the distinct training constraints' vectors;
the ``prompt`` head is fitted on the training pairs that carry a prompt (none: no such head), the ``plain`` head on
every training pair with its prompt ignored.  With ``class_balance`` each positive weighs negatives/positives in the
loss.  The fit is Newton's method on the penalised BCE, so each head's "history" is its training loss per Newton
iteration, from ln 2 down.  The defaults (no extra pairs, 16 components) are the best of the sweep in
``docs/fidelity.md`` (``scripts/soft_verifier_sweep.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ifverify.learned.controls import BLIND_TEXT
from ifverify.learned.feature_verifier import HEADS, FeatureVerifier, Head, fit_logistic
from ifverify.learned.metrics import evaluate_scores, fit_temperature
from ifverify.learned.pairs import LabelledPair, data_digest, prepare_pairs
from ifverify.rewards.soft import Query


@dataclass
class FeatureTrainReport:
    out_dir: str
    train_size: int
    eval_size: int
    temperature: dict[str, float]
    seconds: float
    loss_history: dict[str, list[float]] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def queries(pairs: list[LabelledPair], *, prompts: bool = True) -> list[Query]:
    """The (constraint, response, prompt) query of each pair; the prompt is None without ``prompts``."""
    return [(p.constraint_text, p.response, p.prompt if prompts else None) for p in pairs]


def _bce(z: Any, y: Any, weight: Any) -> float:
    return float(np.sum(weight * (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))) / np.sum(weight))


def fit_prior(verifier: FeatureVerifier, constraints: list[str], components: int) -> tuple[Any, Any]:
    """(mean, components) of the constraints' vectors: the first principal axes, signs fixed for determinism."""
    vectors = verifier.vectors(constraints)
    matrix = np.stack([vectors[c] for c in constraints]).astype(np.float64)
    mean = matrix.mean(0)
    _, _, axes = np.linalg.svd(matrix - mean, full_matrices=False)
    axes = axes[:min(components, len(constraints) - 1)]
    axes *= np.where(axes[np.arange(len(axes)), np.abs(axes).argmax(1)] < 0, -1.0, 1.0)[:, None]
    return mean, axes


def fit_head(name: str, x: Any, y: Any, *, l2: float, class_balance: bool) -> tuple[Head, list[float]]:
    """A head fitted on standardised ``x``, and its loss history."""
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    standard = (x - mean) / scale
    positives = y.sum()
    weight = np.where(y == 1, (len(y) - positives) / positives, 1.0) if class_balance else np.ones(len(y))
    history = [round(_bce(np.zeros(len(y)), y, weight), 6)]
    for iterations in (1, 2, 4, 8, 100):
        w, b = fit_logistic(standard, y, l2=l2, iterations=iterations, sample_weight=weight)
        history.append(round(_bce(standard @ w + b, y, weight), 6))
    return Head(HEADS[name], w, b, mean, scale), history


def train_features(data_path: str | Path, out_dir: str | Path, *, kinds: tuple[str, ...] | None = ("soft",),
                   eval_fraction: float = 0.15, seed: int = 0, labels: str = "pseudo", shuffle_negatives: int = 0,
                   context_positives: bool = False, blind: bool = False, l2: float = 1.0, components: int = 16,
                   max_length: int = 128, class_balance: bool = True) -> FeatureTrainReport:
    """Fit, calibrate on the validation split, evaluate and save a feature verifier to ``out_dir``."""
    if not 0 <= eval_fraction < 1 or l2 < 0 or max_length < 8 or components < 0:
        raise ValueError(f"need 0 <= eval_fraction < 1, l2 >= 0, max_length >= 8 and components >= 0; got "
                         f"{eval_fraction!r}, {l2!r}, {max_length!r}, {components!r}")
    started = time.monotonic()
    prepared = prepare_pairs(data_path, labels=labels, eval_fraction=eval_fraction, seed=seed,
                             shuffle_negatives=shuffle_negatives, context_positives=context_positives, kinds=kinds)
    train_rows, eval_rows, relabelled = prepared.train, prepared.held_out, prepared.relabelled
    if blind:
        train_rows = [replace(p, constraint_text=BLIND_TEXT) for p in train_rows]
        eval_rows = [replace(p, constraint_text=BLIND_TEXT) for p in eval_rows]
    verifier = FeatureVerifier.untrained(max_length)
    constraints = sorted({p.constraint_text for p in train_rows})
    verifier.prior_mean, verifier.prior_components = (np.asarray(a, dtype=np.float32)
                                                       for a in fit_prior(verifier, constraints, components))
    with_prompt = [p for p in train_rows if p.prompt is not None]
    heads: dict[str, Head] = {}
    history: dict[str, list[float]] = {}
    for name, rows in (("prompt", with_prompt), ("plain", train_rows)):
        if len({p.label for p in rows}) < 2:  # no prompts: no prompt head, every query takes the plain one
            continue
        y = np.array([p.label for p in rows], dtype=float)
        x = verifier.matrix(name, verifier.features(queries(rows, prompts=name == "prompt")))
        heads[name], history[name] = fit_head(name, x, y, l2=l2, class_balance=class_balance)
    verifier.heads = heads
    calibration = [p for p in eval_rows if kinds is None or (p.kind or "soft") in kinds]
    for name in heads:
        rows = [p for p in calibration if name == "plain" or p.prompt is not None]
        if rows:
            found = verifier.features(queries(rows, prompts=name == "prompt"))
            logits = heads[name].logits(verifier.matrix(name, found))
            heads[name].temperature = fit_temperature(list(logits), [p.label for p in rows])
    validation: dict[str, Any] = {}
    for kind in ("soft", "hard", "all"):
        chosen = [p for p in eval_rows if kind == "all" or p.kind == kind]
        if chosen:
            for prompts, key in ((True, kind), (False, f"{kind}_without_prompt")):
                scores = verifier.score_queries(queries(chosen, prompts=prompts))
                validation[key] = evaluate_scores(scores, [p.label for p in chosen], verifier.threshold).to_dict()
    settings = {"kinds": list(kinds) if kinds else None, "eval_fraction": eval_fraction, "seed": seed,
                "labels": labels, "shuffle_negatives": shuffle_negatives, "context_positives": context_positives,
                "blind": blind, "l2": l2, "components": len(verifier.prior_components), "max_length": max_length,
                "class_balance": class_balance}
    verifier.training = {"data_sha256": data_digest(data_path), "settings": settings, "loss_history": history,
                         "relabelled": relabelled, "train_pairs": len(train_rows),
                         "train_pairs_with_prompt": len(with_prompt), "validation_pairs": len(eval_rows),
                         "validation": validation}
    verifier.save(out_dir)
    return FeatureTrainReport(str(out_dir), len(train_rows), len(eval_rows),
                              {name: head.temperature for name, head in heads.items()},
                              round(time.monotonic() - started, 3), history, validation)
