"""The packaged SmolLM2-135M-Instruct as a soft-verifier backbone, measured (docs/fidelity.md section 3).

A linear probe (BCE, L2) on the frozen model's last-layer hidden states (mean-pooled, last token, both) of
"Constraint: <c>\\nResponse: <r>" cut to 256 tokens, 5-fold by task on the paper's 532 soft pairs, and the
forward pass's throughput.  Run from a clone (about 3 minutes on 2 cores):

    python scripts/smollm2_probe.py [--threads 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "third_party" / "verl-if" / "train.parquet"
MAX_LENGTH = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from ifverify.learned.feature_verifier import fit_logistic
    from ifverify.learned.metrics import roc_auc
    from ifverify.learned.pairs import read_pairs
    from ifverify.models import load_local_model

    torch.set_num_threads(args.threads)
    model, tokenizer, _ = load_local_model(None)
    model.eval()
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    pairs = [p for p in read_pairs(DATA) if p.kind == "soft"]
    rows = []
    started = time.monotonic()
    with torch.inference_mode():
        for i in range(0, len(pairs), 8):
            texts = [f"Constraint: {p.constraint_text}\nResponse: {p.response}" for p in pairs[i:i + 8]]
            batch = tokenizer(texts, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt")
            hidden = model(**batch, output_hidden_states=True).hidden_states[-1]
            mask = batch["attention_mask"].unsqueeze(-1).float()
            mean = (hidden * mask).sum(1) / mask.sum(1)
            last = hidden[torch.arange(hidden.shape[0]), batch["attention_mask"].sum(1) - 1]
            rows.extend(np.concatenate([mean.numpy(), last.numpy()], 1))
    seconds = time.monotonic() - started
    x, y = np.array(rows), np.array([p.label for p in pairs], dtype=float)
    width = x.shape[1] // 2
    folds = np.array([int(hashlib.sha256(str(p.group).encode()).hexdigest(), 16) % 5 for p in pairs])
    results = {}
    for name, columns in (("mean", slice(0, width)), ("last", slice(width, 2 * width)), ("both", slice(None))):
        for l2 in (10.0, 100.0, 1000.0):
            scores = np.zeros(len(pairs))
            for k in range(5):
                train, test = folds != k, folds == k
                mu, sd = x[train][:, columns].mean(0), x[train][:, columns].std(0) + 1e-6
                w, b = fit_logistic((x[train][:, columns] - mu) / sd, y[train], l2=l2)
                scores[test] = ((x[test][:, columns] - mu) / sd) @ w + b
            results[f"{name}, L2 {l2:g}"] = round(roc_auc(list(scores), list(y)), 3)
    print(json.dumps({"pairs": len(pairs), "threads": args.threads, "max_length": MAX_LENGTH,
                      "pairs_per_s": round(len(pairs) / seconds, 2), "soft_roc_auc_5fold": results}, indent=1))


if __name__ == "__main__":
    main()
