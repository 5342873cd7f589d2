"""``ifverify rm``: train and evaluate the soft-constraint classifier (the reward model for soft constraints).

Exit codes: 0 success, 1 an error in the run (bad data lines, an unusable model folder, a missing optional
dependency), 2 a usage error (a missing file, a bad option value).  Run errors print one line, no traceback.
Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

T = TypeVar("T")


def _run(action: Callable[[], T]) -> T:
    """Call ``action``; expected run errors become a one-line :class:`click.ClickException` (exit 1)."""
    try:
        return action()
    except (ValueError, OSError, ImportError) as exc:  # bad data, bad model folder, missing dependency
        raise click.ClickException(" ".join(str(exc).split()) or type(exc).__name__) from None


def _echo_report(report: dict[str, Any] | None, table: str | None, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    elif table:
        click.echo(table, nl=False)


@click.group("rm")
def rm() -> None:
    """Train and evaluate the soft-constraint classifier P(satisfied | constraint text, response)."""


def _layers(value: str) -> int | None:
    if value == "all":
        return None
    try:
        layers = int(value)
    except ValueError:
        layers = -1
    if layers < 0:
        raise click.BadParameter(f"expected 'all' or a whole number of layers, got {value!r}")
    return layers


def _echo_epoch(record: dict[str, Any]) -> None:
    auc = record.get("val_roc_auc")
    extra = f", validation ROC-AUC {auc:.3f}, validation loss {record['val_loss']:.4f}" if auc is not None else ""
    click.echo(f"epoch {record['epoch']}: training loss {record['train_loss']:.4f}{extra}", err=True)


@rm.command("train")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the trained classifier (and checkpoints/, history.json).")
@click.option("--base", type=click.Path(exists=True, file_okay=False),
              help="Local base model folder; default the packaged all-MiniLM-L6-v2.")
@click.option("--epochs", type=click.IntRange(min=1), default=6, show_default=True,
              help="The most epochs; early stopping may end sooner.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-5, show_default=True,
              help="Learning rate of the fine-tuned encoder layers.")
@click.option("--head-lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Learning rate of the fresh pooler and head.")
@click.option("--train-layers", default="3", show_default=True, metavar="N|all",
              help="Fine-tune the top N encoder layers (0: the head only; all: every weight).")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--max-length", type=click.IntRange(min=8), default=None,
              help="Tokens per input (default 256 for cross-encoder; 128 per chunk for features).")
@click.option("--eval-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.15, show_default=True,
              help="Share of tasks (seed_id groups) held out for validation, early stopping and the temperature.")
@click.option("--patience", type=click.IntRange(min=1), default=2, show_default=True,
              help="Stop after this many epochs without a better validation ROC-AUC (the best epoch is kept).")
@click.option("--class-balance/--no-class-balance", default=True, show_default=True,
              help="Weigh positives by negatives/positives in the loss.")
@click.option("--labels", type=click.Choice(["pseudo", "checker"]), default="pseudo", show_default=True,
              help="checker: relabel hard pairs with their checker's verdict.")
@click.option("--shuffle-negatives", type=click.IntRange(min=0), default=None,
              help="Per soft positive, pairs of its response with other tasks' soft constraints, labelled 0 "
                   "(default 1 for cross-encoder, 0 for features).")
@click.option("--context-positives/--no-context-positives", default=None,
              help="Pair each response with the soft constraints among its task's other constraints, labelled 1 "
                   "(default on for cross-encoder, off for features).")
@click.option("--components", type=click.IntRange(min=0), default=16, show_default=True,
              help="features: principal components of the constraint embedding, a prior per kind of constraint.")
@click.option("--blind", is_flag=True, help="Replace every constraint text by a fixed string (the blind control).")
@click.option("--model-type", type=click.Choice(["cross-encoder", "features"]), default="cross-encoder",
              show_default=True, help="cross-encoder: fine-tune the encoder on (constraint, response); features: "
              "logistic regression over the frozen encoder's similarities and word overlap, reading the prompt "
              "when pairs carry one (the default verifier).")
@click.option("--kinds", type=click.Choice(["soft", "all"]), default="soft", show_default=True,
              help="features: train on the soft pairs only, or on every pair.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=500, show_default=True,
              help="Steps between checkpoints; 0 for none.")
@click.option("--no-resume", is_flag=True, help="Start over, deleting existing checkpoints.")
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads.")
@click.option("--device", help="torch device; default cuda when available, else cpu.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def train_cmd(data: str, out_dir: str, base: str | None, epochs: int, lr: float, head_lr: float, train_layers: str,
              batch_size: int, max_length: int | None, eval_fraction: float, patience: int, class_balance: bool,
              labels: str, shuffle_negatives: int | None, context_positives: bool | None, components: int,
              blind: bool, model_type: str, kinds: str, seed: int,
              checkpoint_every: int, no_resume: bool, threads: int | None, device: str | None,
              progress: bool | None, fmt: str) -> None:
    """Train a classifier on DATA (JSONL: constraint_text, response, label) with binary cross-entropy.

    Prints the training loss and validation ROC-AUC of each epoch on stderr and saves them in OUT/history.json.
    """
    if model_type == "features":
        _train_features(data, out_dir, eval_fraction=eval_fraction, seed=seed, labels=labels,
                        shuffle_negatives=shuffle_negatives or 0, context_positives=bool(context_positives),
                        blind=blind, kinds=kinds, components=components,
                        max_length=max_length or 128, fmt=fmt)
        return
    if shuffle_negatives is None:
        shuffle_negatives = 1
    if context_positives is None:
        context_positives = True
    max_length = max_length or 256
    from ifverify.learned.training import train

    layers = _layers(train_layers)
    report = _run(lambda: train(data, out_dir, base=base, epochs=epochs, lr=lr, head_lr=head_lr,
                                train_layers=layers, batch_size=batch_size, max_length=max_length,
                                eval_fraction=eval_fraction, patience=patience, class_balance=class_balance,
                                labels=labels, shuffle_negatives=shuffle_negatives,
                                context_positives=context_positives, blind=blind, seed=seed,
                                checkpoint_every=checkpoint_every, resume=not no_resume, progress=progress,
                                threads=threads, device=device, on_epoch=_echo_epoch))
    if fmt == "json":
        _echo_report(report.to_dict(), None, fmt)
        return
    resumed = f", resumed from step {report.resumed_from}" if report.resumed_from else ""
    stopped = f"; stopped early, best epoch {report.best_epoch}" if report.stopped_early else ""
    click.echo(f"saved classifier to {report.out_dir} ({report.steps} steps{resumed}{stopped}; "
               f"{report.train_size} training pairs, {report.eval_size} held out; temperature "
               f"{report.temperature:.3f}; {report.seconds:.1f} s)")
    if report.eval is None:
        click.echo("no held-out pairs: set --eval-fraction above 0 for held-out metrics")
    else:
        click.echo("held-out metrics (calibrated):")
        click.echo(report.eval.render_table(), nl=False)


def _train_features(data: str, out_dir: str, *, kinds: str, fmt: str, **options: Any) -> None:
    from ifverify.learned.feature_training import train_features

    report = _run(lambda: train_features(data, out_dir, kinds=None if kinds == "all" else ("soft",), **options))
    if fmt == "json":
        _echo_report(report.to_dict(), None, fmt)
        return
    temperatures = ", ".join(f"{name} {t:.3f}" for name, t in report.temperature.items())
    click.echo(f"saved feature verifier to {report.out_dir} ({report.train_size} training pairs, {report.eval_size} "
               f"held out; temperatures {temperatures}; {report.seconds:.1f} s)")
    for name, history in report.loss_history.items():
        click.echo(f"{name} head: training loss by Newton iteration: {' -> '.join(f'{v:.4f}' for v in history)}")
    for kind, metrics in report.validation.items():
        auc = metrics["roc_auc"]
        click.echo(f"held-out {kind}: {metrics['n']} pairs, ROC-AUC {'-' if auc is None else f'{auc:.3f}'}, "
                   f"accuracy {metrics['accuracy']:.3f}")


@rm.command("eval")
@click.argument("model", metavar="MODEL")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["all", "soft", "hard"]), default="all", show_default=True,
              help="Evaluate only the pairs of this kind (pairs without a kind count as soft).")
@click.option("--blind-model", type=click.Path(exists=True, file_okay=False),
              help="A model trained with rm train --blind: adds the constraint-blind control.")
@click.option("--train-data", type=click.Path(exists=True, dir_okay=False),
              help="The training pairs, to fit the length-only control on (default: two-fold on DATA).")
@click.option("--held-out", is_flag=True,
              help="Evaluate only the validation split MODEL was trained with (its recorded fraction and seed).")
@click.option("--prompts/--no-prompts", default=True, show_default=True,
              help="Give the scorer each pair's prompt (when the data has one); --no-prompts scores pairs alone.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Also write the report as JSON here.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads.")
@click.option("--device", help="torch device; default cuda when available, else cpu.")
def eval_cmd(model: str, data: str, kind: str, blind_model: str | None, train_data: str | None, held_out: bool,
             prompts: bool, fmt: str, out_path: str | None, batch_size: int, threads: int | None,
             device: str | None) -> None:
    """Score DATA (JSONL: constraint_text, response, label) with MODEL and report metrics with controls.

    MODEL is a saved classifier folder, 'default' (the packaged soft verifier) or 'judge:<url>'.  Reports
    ROC-AUC, balanced accuracy at the model's threshold, expected calibration error and Kendall tau-b, overall,
    per kind and per constraint type, and the constraint-shuffle, constraint-blind and length-only controls.
    """
    from ifverify.learned.controls import evaluate_with_controls
    from ifverify.learned.pairs import read_pairs, split_pairs

    def scorer(spec: str) -> Any:
        from ifverify.learned.feature_verifier import is_feature_verifier

        if spec == "default" or spec.startswith("judge:") or is_feature_verifier(spec):
            from ifverify.learned.scorers import load_scorer

            return load_scorer(spec)
        from ifverify.learned.classifier import SoftClassifier

        return SoftClassifier.load(spec, device=device, batch_size=batch_size, threads=threads)

    def run() -> Any:
        pairs = read_pairs(data)  # bad data fails before a model loads
        main = scorer(model)
        train_pairs = read_pairs(train_data) if train_data else None
        if held_out:
            settings = ((getattr(main, "training", None) or getattr(getattr(main, "metadata", None), "training", None)
                         or {}).get("settings") or {})
            if "eval_fraction" not in settings:
                raise ValueError(f"{model}: no recorded validation split (eval_fraction, seed); drop --held-out")
            train_part, pairs = split_pairs(pairs, settings["eval_fraction"], settings.get("seed", 0))
            train_pairs = train_pairs or train_part
        if kind != "all":
            pairs = [p for p in pairs if (p.kind or "soft") == kind]
            if not pairs:
                raise ValueError(f"{data}: no {kind} pairs")
            train_pairs = [p for p in train_pairs or [] if (p.kind or "soft") == kind] or None
        from ifverify.rewards.soft import score_queries

        blind_scorer = scorer(blind_model) if blind_model else None
        blind = (lambda queries: score_queries(blind_scorer, queries)) if blind_scorer is not None else None
        return evaluate_with_controls(lambda queries: score_queries(main, queries), pairs,
                                      threshold=float(getattr(main, "threshold", 0.5)), blind_score=blind,
                                      train_pairs=train_pairs, prompts=prompts)

    report = _run(run)
    if out_path:
        _run(lambda: Path(out_path).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8"))
    _echo_report(report.to_dict(), report.render_table(), fmt)
