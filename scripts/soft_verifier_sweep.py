"""The sweep behind docs/fidelity.md: the feature verifier's settings compared by 5-fold cross-validation by task on
the paper's released pairs, with the constraint-shuffle control, for both heads (with and without the prompt).

Run from a clone (a few minutes on 2 CPU cores; every text is embedded once):

    python scripts/soft_verifier_sweep.py [--threads 2] [--json work/sweep.json]

Each setting is fitted on four folds of tasks (with its extra pairs added to the training folds only) and scored on
the soft pairs of the fifth; the ROC-AUC is over all out-of-fold soft pairs, and the shuffle ROC-AUC tells each
out-of-fold positive's own constraint from another task's (scored with the positive's own prompt).  Prints a
markdown table.
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
SETTINGS: dict[str, dict[str, Any]] = {
    "default (soft pairs, no extra pairs, 16 components)": {},
    "context positives and 2 shuffle negatives": {"shuffle": 2, "context": True},
    "context positives": {"context": True},
    "1 shuffle negative": {"shuffle": 1},
    "no prior components": {"components": 0},
    "8 prior components": {"components": 8},
    "32 prior components": {"components": 32},
    "all pairs (hard too)": {"kinds": None},
    "all pairs, checker labels for hard": {"kinds": None, "labels": "checker"},
    "no class balance": {"balance": False},
    "L2 10": {"l2": 10.0},
    "semantic only": {"drop": ("ov", "so", "de", "on", "sn", "dn", "novshare")},
    "lexical only": {"keep": ("ov", "so", "de", "on", "sn", "dn", "novshare", "ll", "lc", "nwords")},
    "length only (a control)": {"keep": ("ll",), "components": 0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    from ifverify.learned import feature_verifier as fv
    from ifverify.learned.controls import shuffled_texts
    from ifverify.learned.feature_training import fit_head, fit_prior
    from ifverify.learned.metrics import roc_auc
    from ifverify.learned.pairs import LabelledPair, checker_labels, extend_pairs, read_pairs

    torch.set_num_threads(args.threads)
    fv._VECTOR_CACHE = 1 << 30  # the sweep keeps every vector: each text is embedded once
    pseudo = read_pairs(DATA)
    checked = checker_labels(pseudo)[0]
    verifier = fv.FeatureVerifier.untrained()
    memo: dict[fv.Query, dict[str, Any]] = {}

    def features(items: list[fv.Query]) -> list[dict[str, Any]]:
        todo = list(dict.fromkeys(q for q in items if q not in memo))
        for query, f in zip(todo, verifier.features(todo) if todo else [], strict=True):
            memo[query] = f
        return [memo[q] for q in items]

    def fold(pair: LabelledPair) -> int:
        return int(hashlib.sha256(str(pair.group).encode()).hexdigest(), 16) % 5

    def rows(head: str, items: list[fv.Query], prior: tuple[Any, Any], columns: list[int]) -> Any:
        found = features(items)
        for f, (constraint, _, _) in zip(found, items, strict=True):
            f["prior"] = (verifier.vectors([constraint])[constraint] - prior[0]) @ prior[1].T
        return fv.FeatureVerifier.matrix(head, found)[:, columns]

    results = {}
    for name, options in SETTINGS.items():
        kinds = options.get("kinds", ("soft",))
        pairs = checked if options.get("labels") == "checker" else pseudo
        out: dict[str, list[Any]] = {}
        for k in range(5):
            train = [p for p in pairs if fold(p) != k and (kinds is None or p.kind in kinds)]
            train = extend_pairs(train, seed=0, shuffle_negatives=options.get("shuffle", 0),
                                 context_positives=options.get("context", False))
            test = [p for p in pairs if fold(p) == k and p.kind == "soft"]
            shuffled = shuffled_texts(test)
            prior = fit_prior(verifier, sorted({p.constraint_text for p in train}), options.get("components", 16))
            for head in ("prompt", "plain"):
                names = list(fv.HEADS[head]) + [f"pc{i}" for i in range(len(prior[1]))]
                columns = [i for i, n in enumerate(names) if n not in options.get("drop", ())
                           and (n in options.get("keep", names) or n.startswith("pc"))]
                use = head == "prompt"
                x = rows(head, [(p.constraint_text, p.response, p.prompt if use else None) for p in train], prior,
                         columns)
                fitted, _ = fit_head(head, x, np.array([p.label for p in train], dtype=float),
                                     l2=options.get("l2", 1.0), class_balance=options.get("balance", True))
                score = fitted.logits(rows(head, [(p.constraint_text, p.response, p.prompt if use else None)
                                                  for p in test], prior, columns))
                own = fitted.logits(rows(head, [(p.constraint_text, p.response, p.prompt if use else None)
                                                for p, _ in shuffled], prior, columns))
                other = fitted.logits(rows(head, [(t, p.response, p.prompt if use else None) for p, t in shuffled],
                                           prior, columns))
                out.setdefault(f"{head}_scores", []).extend(score)
                out.setdefault(f"{head}_labels", []).extend(p.label for p in test)
                out.setdefault(f"{head}_own", []).extend(own)
                out.setdefault(f"{head}_other", []).extend(other)
        results[name] = {}
        for head in ("prompt", "plain"):
            own, other = list(out[f"{head}_own"]), list(out[f"{head}_other"])
            results[name][head] = {
                "soft_roc_auc": round(roc_auc(list(out[f"{head}_scores"]), out[f"{head}_labels"]), 3),
                "shuffle_roc_auc": round(roc_auc(own + other, [1] * len(own) + [0] * len(other)), 3)}
        print(name, results[name], flush=True)
    print("\n| setting | soft ROC-AUC, with prompt | shuffle | soft ROC-AUC, no prompt | shuffle |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['prompt']['soft_roc_auc']:.3f} | {r['prompt']['shuffle_roc_auc']:.3f} | "
              f"{r['plain']['soft_roc_auc']:.3f} | {r['plain']['shuffle_roc_auc']:.3f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
