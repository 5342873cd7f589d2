"""Train and evaluate the soft-constraint classifier with binary cross-entropy (the paper's method, §1).

Rules, exactly:

* **Data.** JSONL, one object a line with ``constraint_text`` (str), ``response`` (str) and ``label``
  (``0``/``1``, ``true``/``false``, or ``0.0``/``1.0``); other fields are ignored and blank lines skipped.
  A bad line is an error, not a skip: :class:`DataError` names every bad line (the first 10 in the message)
  with its field before any training starts, because a silently thinned training set is worse than a stop.
* **Split.** A pair goes to the held-out set when ``sha256(f"{seed}\\0{constraint}\\0{response}")`` read as a
  fraction is below ``eval_fraction``: stable across runs and machines, and duplicates never straddle the split.
* **Optimisation.** ``BCEWithLogitsLoss`` on the logit (``l1 - l0`` for a two-logit head), AdamW (fused), a linear
  warm-up over the first ``warmup_fraction`` of steps then linear decay to 0, gradients clipped at norm 1.
* **Randomness.** Each epoch's shuffle comes from a local ``torch.Generator`` seeded with ``(seed, epoch)``.
  Dropout and a fresh head need torch's global generator, so :func:`train` calls ``torch.manual_seed(seed)``
  inside :func:`torch.random.fork_rng`: the caller's random state is restored on return.
* **Checkpoints.** Every ``checkpoint_every`` steps, ``out_dir/checkpoints/step-N/state.pt`` holds the model,
  optimizer, scheduler, step and RNG states (written to a temporary name, then renamed); the newest
  ``keep_checkpoints`` are kept.  A rerun with ``resume=True`` continues from the newest checkpoint made with the
  same data and settings, and ends with the same weights as an uninterrupted run; ``resume=False`` deletes them.
* **Result.** The final model goes to ``out_dir`` through :meth:`SoftClassifier.save` (label counts, data digest).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ifverify.learned.classifier import (
    PACKAGED_BASE,
    ClassifierMetadata,
    SoftClassifier,
    load_model,
    resolve_device,
    resolve_source,
)
from ifverify.learned.controls import BLIND_TEXT
from ifverify.learned.delta import DELTA_FILE, save_delta, trainable_names
from ifverify.learned.loop import TrainingLoop, classifier_logits
from ifverify.learned.metrics import (
    CalibrationBin,
    EvalReport,
    calibration,
    evaluate_scores,
    fit_temperature,
    kendall_tau_b,
    roc_auc,
)
from ifverify.learned.pairs import (
    DataError,
    LabelledPair,
    data_digest,
    prepare_pairs,
    read_pairs,
    split_pairs,
)
from ifverify.models import require

__all__ = ["CalibrationBin", "DataError", "EvalReport", "LabelledPair", "TrainReport", "calibration", "evaluate",
           "evaluate_scores", "kendall_tau_b", "read_pairs", "roc_auc", "split_pairs", "train"]


def evaluate(model: str | Path | SoftClassifier, data_path: str | Path, *, batch_size: int | None = None,
             device: str | None = None) -> EvalReport:
    """Score a labelled JSONL file with a classifier (or a saved classifier folder) and report the metrics."""
    pairs = read_pairs(data_path)  # bad data fails before a model loads
    classifier = model if isinstance(model, SoftClassifier) else SoftClassifier.load(
        model, device=device, batch_size=batch_size or 32)
    return evaluate_pairs(classifier, pairs)


def evaluate_pairs(classifier: SoftClassifier, pairs: Sequence[LabelledPair]) -> EvalReport:
    scores = classifier.score_pairs([(p.constraint_text, p.response) for p in pairs])
    return evaluate_scores(scores, [p.label for p in pairs], classifier.threshold)


@dataclass
class TrainReport:
    """What :func:`train` did; ``completed`` is False when it stopped at ``max_steps``."""

    out_dir: str
    completed: bool
    steps: int
    total_steps: int
    resumed_from: int | None
    train_size: int
    eval_size: int
    label_counts: dict[str, int]
    mean_loss: float | None
    seconds: float
    eval: EvalReport | None = None
    checkpoints: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    temperature: float = 1.0
    relabelled: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "eval"}
        data["eval"] = self.eval.to_dict() if self.eval is not None else None
        return data


def train(data_path: str | Path, out_dir: str | Path, *, base: str | Path | None = None, epochs: int = 6,
          lr: float = 5e-5, head_lr: float = 1e-3, train_layers: int | None = 3, batch_size: int = 16,
          max_length: int = 256, eval_fraction: float = 0.15, patience: int = 2, class_balance: bool = True,
          labels: str = "pseudo", shuffle_negatives: int = 1, context_positives: bool = True, blind: bool = False,
          seed: int = 0, checkpoint_every: int = 500, keep_checkpoints: int = 2, resume: bool = True,
          progress: bool | None = None, threads: int | None = None, device: str | None = None,
          warmup_fraction: float = 0.1, weight_decay: float = 0.01, max_steps: int | None = None,
          on_epoch: Any = None, delta: bool | None = None) -> TrainReport:
    """Train a classifier on ``data_path`` and save it to ``out_dir``; see the module docstring for the rules.

    ``base`` is a local model folder or ``None`` for the packaged MiniLM.  ``lr`` is the learning rate of the
    fine-tuned encoder layers and ``head_lr`` that of the fresh pooler and head; ``train_layers`` fine-tunes
    the top N encoder layers (``None``: all, with the embeddings; ``0``: the head only).  ``labels="checker"``
    relabels hard pairs with their checker's verdict.  ``shuffle_negatives`` and ``context_positives`` add the
    extra pairs of :func:`ifverify.learned.pairs.extend_pairs` to the training split only.  ``blind`` replaces
    every constraint text by a fixed string (the constraint-blind control).  ``patience`` stops after that many
    epochs without a better validation ROC-AUC and keeps the best epoch's weights.  ``checkpoint_every=0``
    disables checkpoints.  ``on_epoch(record)`` is called after each epoch with its history record.  ``delta``
    saves only the fine-tuned tensors in float16 over the packaged encoder (default: when ``base`` is None and
    ``train_layers`` is not None).  ``max_steps`` stops early (the run is then incomplete and no final model
    is written), which is how an interruption is simulated.
    """
    _check_arguments(epochs=epochs, batch_size=batch_size, checkpoint_every=checkpoint_every,
                     keep_checkpoints=keep_checkpoints, patience=patience, lr=lr, eval_fraction=eval_fraction,
                     warmup_fraction=warmup_fraction)
    if head_lr <= 0 or shuffle_negatives < 0 or (train_layers is not None and train_layers < 0):
        raise ValueError(f"need head_lr > 0, shuffle_negatives >= 0, train_layers >= 0 or None; got "
                         f"head_lr={head_lr!r}, shuffle_negatives={shuffle_negatives!r}, train_layers={train_layers!r}")
    started = time.monotonic()
    prepared = prepare_pairs(data_path, labels=labels, eval_fraction=eval_fraction, seed=seed,
                             shuffle_negatives=shuffle_negatives, context_positives=context_positives)
    pairs, train_rows, eval_rows, relabelled = (prepared.all_pairs, prepared.train, prepared.held_out,
                                                prepared.relabelled)
    if blind:
        train_rows = [replace(p, constraint_text=BLIND_TEXT) for p in train_rows]
        eval_rows = [replace(p, constraint_text=BLIND_TEXT) for p in eval_rows]
    source, digest = resolve_source(base), data_digest(data_path)
    setup: dict[str, Any] = {"data_sha256": digest, "base": str(source or "<packaged>"), "epochs": epochs,
                             "lr": lr, "head_lr": head_lr, "train_layers": train_layers, "batch_size": batch_size,
                             "max_length": max_length, "eval_fraction": eval_fraction, "patience": patience,
                             "class_balance": class_balance, "labels": labels,
                             "shuffle_negatives": shuffle_negatives, "context_positives": context_positives,
                             "blind": blind, "seed": seed, "warmup_fraction": warmup_fraction,
                             "weight_decay": weight_decay}
    counts = {"positives": sum(p.label for p in pairs), "negatives": sum(1 - p.label for p in pairs)}
    require("torch", "transformers")
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    out = Path(out_dir)
    with torch.random.fork_rng(devices=[torch.device(device).index or 0] if device.startswith("cuda") else []):
        torch.manual_seed(seed)
        model, tokenizer = load_model(source, device, head_seed=seed, dtype="float32")
        freeze_below(model, train_layers)
        classifier = SoftClassifier(source, device=device, batch_size=max(batch_size, 32), max_length=max_length,
                                    metadata=ClassifierMetadata(base_model=str(source or PACKAGED_BASE)),
                                    model=model, tokenizer=tokenizer)
        loop = TrainingLoop(classifier, _features(classifier, train_rows, data_path), [p.label for p in train_rows],
                     setup, out / "checkpoints", checkpoint_every, keep_checkpoints)
        loop.validation = eval_rows
        loop.on_epoch = on_epoch
        if not resume:
            loop.discard_checkpoints()
        resumed_from = loop.resume() if resume else None
        mean_loss = loop.run(max_steps, progress)
    report = TrainReport(str(out), loop.finished, loop.step, loop.total, resumed_from, len(train_rows),
                         len(eval_rows), counts, mean_loss, 0.0, checkpoints=[str(p) for p in loop.checkpoints()],
                         history=loop.history, best_epoch=loop.best_epoch, stopped_early=loop.stopped_early,
                         relabelled=relabelled)
    if report.completed:
        loop.restore_best()
        if eval_rows:
            logits = classifier_logits(classifier, eval_rows)
            report.temperature = fit_temperature(logits, [p.label for p in eval_rows])
        training = {"settings": setup, "history": loop.history, "best_epoch": loop.best_epoch,
                    "relabelled": relabelled, "train_pairs": len(train_rows), "validation_pairs": len(eval_rows)}
        use_delta = delta if delta is not None else (source is None and train_layers is not None)
        classifier.metadata = ClassifierMetadata(
            base_model=str(source or PACKAGED_BASE), max_length=max_length, label_counts=counts,
            data_sha256=digest, temperature=report.temperature, training=training,
            delta_file=DELTA_FILE if use_delta else None)
        report.eval = evaluate_pairs(classifier, eval_rows) if eval_rows else None
        if report.eval is not None:
            training["validation"] = report.eval.to_dict()
        save_classifier(classifier, out, delta=use_delta)
        (out / "history.json").write_text(json.dumps(loop.history, indent=2) + "\n", encoding="utf-8")
    report.seconds = round(time.monotonic() - started, 3)
    return report


def save_classifier(classifier: SoftClassifier, out: Path, *, delta: bool) -> None:
    """Save the whole model, or (``delta``) only its trainable tensors over the packaged encoder."""
    if not delta:
        classifier.save(out)
        return
    out.mkdir(parents=True, exist_ok=True)
    save_delta(classifier.model, trainable_names(classifier.model), out)
    classifier.save_metadata(out)


def freeze_below(model: Any, train_layers: int | None) -> None:
    """Leave the top ``train_layers`` transformer layers, the pooler and the head trainable; freeze the rest.

    ``None`` leaves everything trainable.  The layers are found as ``<base>.encoder.layer`` (BERT family) or
    ``<base>.layers`` (decoder LMs); a model with neither is an error when ``train_layers`` is given.
    """
    if train_layers is None:
        return
    base = model.base_model
    layers = getattr(getattr(base, "encoder", None), "layer", None) or getattr(base, "layers", None)
    if layers is None:
        raise ValueError(f"cannot find the transformer layers of {type(model).__name__}; use train_layers=None")
    for parameter in base.parameters():
        parameter.requires_grad = False
    for layer in list(layers)[len(layers) - train_layers:] if train_layers else []:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    pooler = getattr(base, "pooler", None)
    for parameter in pooler.parameters() if pooler is not None else ():
        parameter.requires_grad = True


def _check_arguments(*, lr: float, eval_fraction: float, warmup_fraction: float, **minimums: int) -> None:
    for name, value in minimums.items():
        low = 0 if name == "checkpoint_every" else 1
        if value < low:
            raise ValueError(f"{name} must be at least {low}, got {value!r}")
    if not (lr > 0 and 0 <= eval_fraction < 1 and 0 <= warmup_fraction < 1):
        raise ValueError(f"need lr > 0, 0 <= eval_fraction < 1, 0 <= warmup_fraction < 1; got lr={lr!r}, "
                         f"eval_fraction={eval_fraction!r}, warmup_fraction={warmup_fraction!r}")


def _features(classifier: SoftClassifier, rows: Sequence[LabelledPair], data_path: str | Path) -> list[Any]:
    """Encoded pairs; a constraint text too long for max_length is a :class:`DataError` naming its line."""
    try:
        return classifier.encode([(p.constraint_text, p.response) for p in rows])
    except ValueError as exc:
        for pair in rows:
            try:
                classifier.check_constraints({pair.constraint_text})
            except ValueError:
                raise DataError(f"{data_path}: line {pair.line}: constraint_text: {exc}") from None
        raise


