"""The sweep behind docs/fidelity.md: the feature verifier's settings compared by 5-fold cross-validation by task on
the paper's released pairs, with the constraint-shuffle control.

Run from a clone (a few minutes on 2 CPU cores; the texts are embedded once):

    python scripts/soft_verifier_sweep.py [--threads 2] [--json work/sweep.json]

Each setting is fitted on four folds of tasks (with its extra pairs added to the training folds only) and scored on
the soft pairs of the fifth; the ROC-AUC is over all out-of-fold soft pairs, and the shuffle ROC-AUC tells each
out-of-fold positive's own constraint from another task's.  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "third_party" / "verl-if" / "train.parquet"
ALL = list(range(7))
SETTINGS: dict[str, dict[str, Any]] = {
    "default (soft pairs, 2 shuffle negatives, context positives)": {},
    "no extra pairs": {"shuffle": 0, "context": False},
    "1 shuffle negative, context positives": {"shuffle": 1},
    "all pairs (hard too)": {"kinds": None, "shuffle": 1},
    "all pairs, checker labels for hard": {"kinds": None, "shuffle": 1, "labels": "checker"},
    "no class balance": {"balance": False},
    "cosine only": {"columns": [0]},
    "lexical only": {"columns": [1, 2, 3]},
    "no length feature": {"columns": [0, 1, 2, 3, 5, 6]},
    "length only (a control)": {"columns": [4]},
    "L2 10": {"l2": 10.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    from ifverify.learned.controls import shuffled_texts
    from ifverify.learned.feature_verifier import FeatureVerifier, fit_logistic
    from ifverify.learned.features import pair_features
    from ifverify.learned.metrics import roc_auc
    from ifverify.learned.pairs import LabelledPair, checker_labels, extend_pairs, read_pairs

    torch.set_num_threads(args.threads)
    pseudo = read_pairs(DATA)
    checked = checker_labels(pseudo)[0]
    embedder = FeatureVerifier([0.0] * 7, 0.0, [0.0] * 7, [1.0] * 7)
    memo: dict[tuple[str, str], list[float]] = {}

    def features(pairs: list[LabelledPair]) -> Any:
        todo = [(p.constraint_text, p.response) for p in pairs if (p.constraint_text, p.response) not in memo]
        for (c, r), cos in zip(todo, embedder.cosines(todo) if todo else [], strict=True):
            memo[(c, r)] = pair_features(c, r, cos)
        return np.array([memo[(p.constraint_text, p.response)] for p in pairs])

    def fold(pair: LabelledPair) -> int:
        return int(hashlib.sha256(str(pair.group).encode()).hexdigest(), 16) % 5

    results = {}
    for name, options in SETTINGS.items():
        kinds = options.get("kinds", ("soft",))
        columns = options.get("columns", ALL)
        pairs = checked if options.get("labels") == "checker" else pseudo
        scores, labels, shuffle_scores, shuffle_labels = [], [], [], []
        for k in range(5):
            train = [p for p in pairs if fold(p) != k and (kinds is None or p.kind in kinds)]
            train = extend_pairs(train, seed=0, shuffle_negatives=options.get("shuffle", 2),
                                 context_positives=options.get("context", True))
            x = features(train)[:, columns]
            y = np.array([p.label for p in train], dtype=float)
            mean, scale = x.mean(0), x.std(0) + 1e-12
            weight = (np.where(y == 1, (len(y) - y.sum()) / y.sum(), 1.0) if options.get("balance", True)
                      else None)
            w, b = fit_logistic((x - mean) / scale, y, l2=options.get("l2", 1.0), sample_weight=weight)

            def logit(ps: list[LabelledPair]) -> list[float]:
                return list(((features(ps)[:, columns] - mean) / scale) @ w + b)  # noqa: B023

            held = [p for p in pseudo if fold(p) == k]
            soft = [p for p in held if p.kind == "soft"]
            scores += logit(soft)
            labels += [p.label for p in soft]
            shuffled = shuffled_texts(held)
            own = logit([p for p, _ in shuffled])
            other = logit([LabelledPair(0, text, p.response, 0) for p, text in shuffled])
            shuffle_scores += own + other
            shuffle_labels += [1] * len(own) + [0] * len(other)
        results[name] = {"soft_roc_auc": round(roc_auc(scores, labels) or 0.0, 3),
                         "shuffle_roc_auc": round(roc_auc(shuffle_scores, shuffle_labels) or 0.0, 3),
                         "soft_pairs": len(labels)}
        print(f"| {name} | {results[name]['soft_roc_auc']:.3f} | {results[name]['shuffle_roc_auc']:.3f} |",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
