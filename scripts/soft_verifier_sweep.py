"""Train the soft verifier under several settings on the paper's released pairs and compare them on the
validation split, with the controls (the sweep recorded in docs/fidelity.md).

Run from a clone (CPU, about 10-40 minutes a setting on 2 cores):

    python scripts/soft_verifier_sweep.py --out work/sweep [--only NAME ...] [--threads 2]

Each setting trains with ``ifverify.learned.training.train`` into ``OUT/NAME`` and is scored on the held-out soft
pairs (ROC-AUC, balanced accuracy, ECE, tau-b, the constraint-shuffle control) and on the held-out hard pairs.
The constraint-blind control is the ``blind`` setting; the length-only control is fitted on the training split.
Results go to ``OUT/results.json`` (one entry per setting, kept across runs) and print as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "third_party" / "verl-if" / "train.parquet"
BASE = {"max_length": 128, "epochs": 4, "threads": 2, "checkpoint_every": 0, "progress": False}
SETTINGS: dict[str, dict[str, Any]] = {
    # the defaults before this sweep: one learning rate for a fresh head and the whole encoder
    "old-defaults": {"lr": 5e-6, "head_lr": 5e-6, "train_layers": None, "class_balance": False,
                     "shuffle_negatives": 0, "context_positives": False, "epochs": 3},
    "head-lr-only": {"lr": 5e-6, "head_lr": 1e-3, "train_layers": None, "class_balance": False,
                     "shuffle_negatives": 0, "context_positives": False, "epochs": 3},
    "defaults": {},
    "head-only": {"train_layers": 0},
    "no-extra-pairs": {"shuffle_negatives": 0, "context_positives": False},
    "checker-labels": {"labels": "checker"},
    "max-length-256": {"max_length": 256},
    "blind": {"blind": True},
}


def evaluate(folder: Path, held_out: list[Any], train_rows: list[Any]) -> dict[str, Any]:
    from ifverify.learned.classifier import SoftClassifier
    from ifverify.learned.controls import BLIND_TEXT, evaluate_with_controls

    classifier = SoftClassifier.load(folder, batch_size=32)
    blind = bool((classifier.metadata.training or {}).get("settings", {}).get("blind"))

    def score(pairs: Any) -> list[float]:
        return classifier.score_pairs([(BLIND_TEXT, r) if blind else (c, r) for c, r in pairs])

    out: dict[str, Any] = {}
    for kind in ("soft", "hard"):
        chosen = [p for p in held_out if p.kind == kind]
        report = evaluate_with_controls(score, chosen, threshold=classifier.threshold,
                                        train_pairs=[p for p in train_rows if p.kind == kind])
        out[kind] = report.to_dict()
    out["history"] = (classifier.metadata.training or {}).get("history")
    out["temperature"] = classifier.metadata.temperature
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "work" / "sweep")
    parser.add_argument("--only", nargs="*", choices=sorted(SETTINGS))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from ifverify.learned.pairs import read_pairs, split_pairs
    from ifverify.learned.training import train

    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    pairs = read_pairs(DATA)
    for name in args.only or list(SETTINGS):
        options = {**BASE, "threads": args.threads, **SETTINGS[name]}
        started = time.monotonic()
        report = train(DATA, args.out / name, **options)
        train_rows, held_out = split_pairs(pairs, options.get("eval_fraction", 0.15), options.get("seed", 0))
        results[name] = {"settings": options, "seconds": round(time.monotonic() - started, 1),
                         "best_epoch": report.best_epoch, **evaluate(args.out / name, held_out, train_rows)}
        results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(row(name, results[name]), flush=True)
    print(table(results))


def cell(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def row(name: str, r: dict[str, Any]) -> str:
    soft, hard = r["soft"], r["hard"]
    losses = [h["train_loss"] for h in r["history"] or []]
    return (f"| {name} | {cell(soft['overall']['roc_auc'])} | {cell(soft['overall']['balanced_accuracy'])} | "
            f"{cell(soft['overall']['ece'])} | {cell(soft['controls']['constraint_shuffle_roc_auc'])} | "
            f"{cell(hard['overall']['roc_auc'])} | {cell(soft['controls']['length_only_roc_auc'])} | "
            f"{' → '.join(f'{v:.3f}' for v in losses)} | {r['best_epoch']} | {r['seconds']:.0f} |")


def table(results: dict[str, Any]) -> str:
    head = ("| setting | soft ROC-AUC | soft bal. acc. | soft ECE | shuffle ROC-AUC | hard ROC-AUC | length-only "
            "(soft) | training loss per epoch | best epoch | seconds |\n|---|---|---|---|---|---|---|---|---|---|")
    return "\n".join([head, *(row(name, r) for name, r in results.items())])


if __name__ == "__main__":
    main()
