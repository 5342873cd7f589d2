"""The optimisation loop of :func:`ifverify.learned.training.train`, with its resumable state.

Per step: a shuffled batch (a local generator seeded with ``(seed, epoch)``), BCE with the class-balance
``pos_weight``, AdamW with the head and pooler at ``head_lr`` and the rest at ``lr``, a linear warm-up then decay,
gradients clipped at norm 1.  Per epoch: the mean training loss, the validation ROC-AUC and loss, the best
epoch's trainable weights, and the early stop after ``patience`` epochs without improvement.  A checkpoint holds
all of it, so a resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from ifverify.learned.classifier import SoftClassifier
from ifverify.learned.delta import trainable_names
from ifverify.learned.metrics import roc_auc
from ifverify.learned.pairs import LabelledPair


def head_names(model: Any) -> set[str]:
    """Parameters outside the base model (the head) and the pooler: the fresh ones, trained at ``head_lr``."""
    prefix = model.base_model_prefix
    return {name for name, _ in model.named_parameters()
            if not name.startswith(prefix + ".") or name.startswith(prefix + ".pooler.")}


def classifier_logits(classifier: SoftClassifier, pairs: Sequence[LabelledPair]) -> list[float]:
    """Raw logits (temperature 1) of the pairs, in order."""
    import numpy as np

    saved = classifier.metadata
    classifier.metadata = replace(saved, temperature=1.0)
    try:
        scores = np.clip(np.asarray(classifier.score_pairs([(p.constraint_text, p.response) for p in pairs])),
                         1e-7, 1 - 1e-7)
    finally:
        classifier.metadata = saved
    return [float(v) for v in np.log(scores / (1 - scores))]


class TrainingLoop:
    """The optimisation loop with its resumable state (step, optimizer, scheduler, RNG, history, best weights)."""

    def __init__(self, classifier: SoftClassifier, features: list[Any], labels: list[int], setup: dict[str, Any],
                 folder: Path, every: int, keep: int) -> None:
        import torch

        self.classifier, self.features, self.labels = classifier, features, labels
        self.model, self.setup, self.folder, self.every, self.keep = classifier.model, setup, folder, every, keep
        self.batch_size = int(setup["batch_size"])
        self.per_epoch = math.ceil(len(features) / self.batch_size)
        self.total = self.per_epoch * int(setup["epochs"])
        warmup = int(self.total * float(setup["warmup_fraction"]))
        head = head_names(self.model)
        self.optimizer = _adamw(self.model, float(setup["lr"]), float(setup["head_lr"]), head,
                                float(setup["weight_decay"]))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: _linear(s, warmup, self.total))
        positives = sum(labels)
        balance = setup["class_balance"] and 0 < positives < len(labels)
        self.pos_weight = (len(labels) - positives) / positives if balance else 1.0
        self.step = 0
        self.validation: Sequence[LabelledPair] = []
        self.on_epoch: Any = None
        self.history: list[dict[str, Any]] = []
        self.best: tuple[float, int, dict[str, Any]] | None = None
        self.stopped_early = False
        self._epoch_losses: list[float] = []
        self._order: tuple[int, list[int]] | None = None

    @property
    def finished(self) -> bool:
        return self.step >= self.total or self.stopped_early

    @property
    def best_epoch(self) -> int | None:
        return self.best[1] if self.best else None

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
        self.history = json.loads(state.get("history", "[]"))
        self._epoch_losses = list(state.get("epoch_losses", []))
        self.stopped_early = bool(state.get("stopped_early", False))
        if state.get("best_state") is not None:
            self.best = (float(state["best_auc"]), int(state["best_epoch"]), state["best_state"])
        return self.step

    def _save(self) -> None:
        import torch

        target = self.folder / f"step-{self.step}"
        partial = self.folder / f"step-{self.step}.tmp"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        rng_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        best_auc, best_epoch, best_state = self.best if self.best else (0.0, 0, None)
        torch.save({"step": self.step, "setup": self.setup, "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                    "rng_cpu": torch.get_rng_state(), "rng_cuda": rng_cuda, "history": json.dumps(self.history),
                    "epoch_losses": self._epoch_losses, "stopped_early": self.stopped_early,
                    "best_auc": best_auc, "best_epoch": best_epoch, "best_state": best_state}, partial / "state.pt")
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

    def _end_epoch(self) -> None:
        """Record the epoch (training loss, validation ROC-AUC and loss), keep the best weights, stop early."""
        epoch = self.step // self.per_epoch
        record: dict[str, Any] = {"epoch": epoch, "step": self.step,
                                  "train_loss": round(sum(self._epoch_losses) / max(1, len(self._epoch_losses)), 6)}
        self._epoch_losses = []
        if self.validation:
            self.model.eval()
            logits = classifier_logits(self.classifier, self.validation)
            self.model.train()
            targets = [p.label for p in self.validation]
            auc = roc_auc(logits, targets)
            record["val_roc_auc"] = None if auc is None else round(auc, 6)
            record["val_loss"] = round(_bce(logits, targets), 6)
            score = auc if auc is not None else -record["val_loss"]
            if self.best is None or score > self.best[0]:
                self.best = (score, epoch, {name: tensor.detach().clone()
                                            for name, tensor in self.model.state_dict().items()
                                            if name in set(trainable_names(self.model))})
            elif epoch - self.best[1] >= int(self.setup["patience"]):
                self.stopped_early = True
        self.history.append(record)
        if callable(self.on_epoch):
            self.on_epoch(record)

    def restore_best(self) -> None:
        """Load the best epoch's trainable weights (when a validation split chose one)."""
        if self.best is not None:
            self.model.load_state_dict({**self.model.state_dict(), **self.best[2]})
        self.model.eval()

    def run(self, max_steps: int | None, progress: bool | None) -> float | None:
        """Train to the end, an early stop, or ``max_steps``; the mean loss of the last 50 steps run."""
        import torch

        losses: list[float] = []
        stop = self.total if max_steps is None else min(self.total, max_steps)
        weight = torch.tensor(self.pos_weight)
        self.model.train()
        with _progress_bar(self.total, self.step, progress) as advance:
            while self.step < stop and not self.stopped_early:
                chosen = self._batch(self.step)
                batch = self.classifier.tokenizer.pad([self.features[i] for i in chosen], padding=True,
                                                      return_tensors="pt")
                logits = self.model(**{k: v.to(self.classifier.device) for k, v in batch.items()}).logits.float()
                logit = logits[:, 0] if logits.shape[-1] == 1 else logits[:, 1] - logits[:, 0]
                target = torch.tensor([float(self.labels[i]) for i in chosen], device=logit.device)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, target,
                                                                            pos_weight=weight.to(logit.device))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.step += 1
                losses = [*losses[-49:], loss.item()]
                self._epoch_losses.append(losses[-1])
                advance(losses[-1])
                if self.step % self.per_epoch == 0 or self.step == self.total:
                    self._end_epoch()
                if self.every and self.step % self.every == 0:
                    self._save()
        self.model.eval()
        return round(sum(losses) / len(losses), 6) if losses else None


def _bce(logits: Sequence[float], labels: Sequence[int]) -> float:
    """Mean binary cross-entropy of logits against 0/1 labels (numerically stable)."""
    total = 0.0
    for z, y in zip(logits, labels, strict=True):
        total += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
    return total / max(1, len(labels))


def _adamw(model: Any, lr: float, head_lr: float, head: set[str], weight_decay: float) -> Any:
    """AdamW over the trainable parameters: the head and pooler at ``head_lr``, the rest at ``lr``; fused where
    torch supports it for these parameters (about 5x faster steps on CPU)."""
    import torch

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in named if n in head], "lr": head_lr},
              {"params": [p for n, p in named if n not in head], "lr": lr}]
    groups = [g for g in groups if g["params"]]
    try:
        return torch.optim.AdamW(groups, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, weight_decay=weight_decay)


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
