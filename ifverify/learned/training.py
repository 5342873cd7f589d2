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

import hashlib
import json
import math
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.models import require
from ifverify.learned.classifier import (
    PACKAGED_BASE,
    ClassifierMetadata,
    SoftClassifier,
    load_model,
    resolve_device,
    resolve_source,
)
from ifverify.learned.metrics import (
    CalibrationBin,
    EvalReport,
    calibration,
    evaluate_scores,
    kendall_tau_b,
    roc_auc,
)

__all__ = ["CalibrationBin", "DataError", "EvalReport", "LabelledPair", "TrainReport", "calibration", "evaluate",
           "evaluate_scores", "kendall_tau_b", "read_pairs", "roc_auc", "split_pairs", "train"]


class DataError(ValueError):
    """Training or evaluation data that cannot be used; the message names the lines and fields."""


@dataclass(frozen=True)
class LabelledPair:
    line: int
    constraint_text: str
    response: str
    label: int


def _label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    return None


def read_pairs(path: str | Path) -> list[LabelledPair]:
    """The labelled pairs of a JSONL file; raises :class:`DataError` listing every bad line."""
    pairs: list[LabelledPair] = []
    problems: list[str] = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                problems.append(f"line {number}: (encoding): not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            except ValueError as exc:
                problems.append(f"line {number}: (json): not valid JSON ({exc})")
                continue
            if not isinstance(row, dict):
                problems.append(f"line {number}: (json): expected a JSON object, got {type(row).__name__}")
                continue
            bad = [name for name in ("constraint_text", "response") if not isinstance(row.get(name), str)]
            if bad:
                problems.append(f"line {number}: {bad[0]}: missing or not a string")
                continue
            label = _label(row.get("label"))
            if label is None:
                problems.append(f"line {number}: label: expected 0/1 or true/false, got {row.get('label')!r:.40}")
                continue
            pairs.append(LabelledPair(number, row["constraint_text"], row["response"], label))
    if problems:
        more = [f"and {len(problems) - 10} more"] if len(problems) > 10 else []
        raise DataError(f"{path}: {len(problems)} bad line(s): " + "; ".join(problems[:10] + more))
    if not pairs:
        raise DataError(f"{path}: no labelled pairs")
    return pairs


def data_digest(path: str | Path) -> str:
    """sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_pairs(pairs: Sequence[LabelledPair], eval_fraction: float,
                seed: int) -> tuple[list[LabelledPair], list[LabelledPair]]:
    """(train, held-out) by the hash rule in the module docstring; input order is kept within each."""
    train_part: list[LabelledPair] = []
    held_out: list[LabelledPair] = []
    for pair in pairs:
        key = f"{seed}\0{pair.constraint_text}\0{pair.response}".encode()
        fraction = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2.0**64
        (held_out if fraction < eval_fraction else train_part).append(pair)
    return train_part, held_out


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

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "eval"}
        data["eval"] = self.eval.to_dict() if self.eval is not None else None
        return data


def train(data_path: str | Path, out_dir: str | Path, *, base: str | Path | None = None, epochs: int = 3,
          lr: float = 5e-6, batch_size: int = 16, max_length: int = 256, eval_fraction: float = 0.1, seed: int = 0,
          checkpoint_every: int = 500, keep_checkpoints: int = 2, resume: bool = True, progress: bool | None = None,
          threads: int | None = None, device: str | None = None, warmup_fraction: float = 0.1,
          weight_decay: float = 0.01, max_steps: int | None = None) -> TrainReport:
    """Train a classifier on ``data_path`` and save it to ``out_dir``; see the module docstring for the rules.

    ``base`` is a local model folder or ``None`` for the packaged MiniLM.  ``checkpoint_every=0`` disables
    checkpoints.  ``progress``: ``None`` shows a bar only when stderr is a terminal, ``True`` always, ``False``
    never.  ``threads`` calls ``torch.set_num_threads``.  ``max_steps`` stops early (the run is then
    incomplete and no final model is written), which is how an interruption is simulated.
    """
    _check_arguments(epochs=epochs, batch_size=batch_size, checkpoint_every=checkpoint_every,
                     keep_checkpoints=keep_checkpoints, lr=lr, eval_fraction=eval_fraction,
                     warmup_fraction=warmup_fraction)
    started = time.monotonic()
    pairs = read_pairs(data_path)
    train_rows, eval_rows = split_pairs(pairs, eval_fraction, seed)
    if not train_rows:
        raise DataError(f"{data_path}: all {len(pairs)} pairs fell in the held-out split; lower eval_fraction")
    source, digest = resolve_source(base), data_digest(data_path)
    setup: dict[str, Any] = {"data_sha256": digest, "base": str(source or "<packaged>"), "epochs": epochs,
                             "lr": lr, "batch_size": batch_size, "max_length": max_length,
                             "eval_fraction": eval_fraction, "seed": seed, "warmup_fraction": warmup_fraction,
                             "weight_decay": weight_decay}
    counts = {"positives": sum(p.label for p in pairs), "negatives": sum(1 - p.label for p in pairs)}
    metadata = ClassifierMetadata(base_model=str(source or PACKAGED_BASE), label_counts=counts, data_sha256=digest)
    require("torch", "transformers")
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    out = Path(out_dir)
    with torch.random.fork_rng(devices=[torch.device(device).index or 0] if device.startswith("cuda") else []):
        torch.manual_seed(seed)
        model, tokenizer = load_model(source, device, head_seed=seed, dtype="float32")
        classifier = SoftClassifier(source, device=device, batch_size=max(batch_size, 32), max_length=max_length,
                                    metadata=metadata, model=model, tokenizer=tokenizer)
        loop = _Loop(classifier, _features(classifier, train_rows, data_path), [p.label for p in train_rows],
                     setup, out / "checkpoints", checkpoint_every, keep_checkpoints)
        if not resume:
            loop.discard_checkpoints()
        resumed_from = loop.resume() if resume else None
        mean_loss = loop.run(max_steps, progress)
    report = TrainReport(str(out), loop.step >= loop.total, loop.step, loop.total, resumed_from, len(train_rows),
                         len(eval_rows), counts, mean_loss, 0.0, checkpoints=[str(p) for p in loop.checkpoints()])
    if report.completed:
        report.eval = evaluate_pairs(classifier, eval_rows) if eval_rows else None
        classifier.save(out)
    report.seconds = round(time.monotonic() - started, 3)
    return report


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


class _Loop:
    """The optimisation loop with its resumable state (step, optimizer, scheduler, RNG)."""

    def __init__(self, classifier: SoftClassifier, features: list[Any], labels: list[int], setup: dict[str, Any],
                 folder: Path, every: int, keep: int) -> None:
        import torch

        self.classifier, self.features, self.labels = classifier, features, labels
        self.model, self.setup, self.folder, self.every, self.keep = classifier.model, setup, folder, every, keep
        self.batch_size = int(setup["batch_size"])
        self.per_epoch = math.ceil(len(features) / self.batch_size)
        self.total = self.per_epoch * int(setup["epochs"])
        warmup = int(self.total * float(setup["warmup_fraction"]))
        self.optimizer = _adamw(self.model, float(setup["lr"]), float(setup["weight_decay"]))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: _linear(s, warmup, self.total))
        self.step = 0
        self._order: tuple[int, list[int]] | None = None

    def checkpoints(self) -> list[Path]:
        found = [p for p in self.folder.glob("step-*") if p.name[5:].isdigit() and (p / "state.pt").is_file()]
        return sorted(found, key=lambda p: int(p.name[5:]))

    def discard_checkpoints(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def resume(self) -> int | None:
        """Load the newest checkpoint; a checkpoint made with other data or settings is an error."""
        import torch

        found = self.checkpoints()
        if not found:
            return None
        state = torch.load(found[-1] / "state.pt", map_location="cpu", weights_only=True)
        changed = sorted(k for k in self.setup if state["setup"].get(k) != self.setup[k])
        if changed:
            raise ValueError(f"checkpoint {found[-1]} was made with different {', '.join(changed)}; rerun with "
                             "resume=False (--no-resume) or another output folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        if state["rng_cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.step = int(state["step"])
        return self.step

    def _save(self) -> None:
        import torch

        target = self.folder / f"step-{self.step}"
        partial = self.folder / f"step-{self.step}.tmp"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        rng_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        torch.save({"step": self.step, "setup": self.setup, "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                    "rng_cpu": torch.get_rng_state(), "rng_cuda": rng_cuda}, partial / "state.pt")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        for old in self.checkpoints()[:-self.keep]:
            shutil.rmtree(old, ignore_errors=True)

    def _batch(self, step: int) -> list[int]:
        import torch

        epoch, offset = divmod(step, self.per_epoch)
        if self._order is None or self._order[0] != epoch:
            generator = torch.Generator().manual_seed(int(self.setup["seed"]) * 1_000_003 + epoch)
            self._order = (epoch, torch.randperm(len(self.features), generator=generator).tolist())
        return self._order[1][offset * self.batch_size:(offset + 1) * self.batch_size]

    def run(self, max_steps: int | None, progress: bool | None) -> float | None:
        """Train to the end (or ``max_steps``); the mean loss of the last 50 steps run."""
        import torch

        losses: list[float] = []
        stop = self.total if max_steps is None else min(self.total, max_steps)
        self.model.train()
        with _progress_bar(self.total, self.step, progress) as advance:
            while self.step < stop:
                chosen = self._batch(self.step)
                batch = self.classifier.tokenizer.pad([self.features[i] for i in chosen], padding=True,
                                                      return_tensors="pt")
                logits = self.model(**{k: v.to(self.classifier.device) for k, v in batch.items()}).logits.float()
                logit = logits[:, 0] if logits.shape[-1] == 1 else logits[:, 1] - logits[:, 0]
                target = torch.tensor([float(self.labels[i]) for i in chosen], device=logit.device)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, target)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.step += 1
                losses = [*losses[-49:], loss.item()]
                advance(losses[-1])
                if self.every and self.step % self.every == 0:
                    self._save()
        self.model.eval()
        return round(sum(losses) / len(losses), 6) if losses else None


def _adamw(model: Any, lr: float, weight_decay: float) -> Any:
    """AdamW, fused where torch supports it for these parameters (about 5x faster steps on CPU)."""
    import torch

    try:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def _linear(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


@contextmanager
def _progress_bar(total: int, done: int, enabled: bool | None) -> Iterator[Any]:
    """A callback ``advance(loss)``: a tqdm bar if installed, else click's, on stderr, or nothing."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        yield lambda loss: None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        import click

        with click.progressbar(length=total, label="training", file=sys.stderr) as bar:
            bar.update(done)
            yield lambda loss: bar.update(1)
        return
    with tqdm(total=total, initial=done, desc="training", file=sys.stderr, unit="step") as bar:
        def advance(loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.update(1)

        yield advance
