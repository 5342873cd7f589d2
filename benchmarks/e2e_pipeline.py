"""The self-supervised pipeline end to end on CPU, with the packaged models, through the `ifverify` CLI.

seeds -> curriculum (L1..L5) -> SmolLM2 responses (L0..L5) -> pseudo-labels -> validate-labels
-> MiniLM classifier trained on the pseudo-labels only -> evaluated against checker truth on held-out
responses: hard constraints written as text ("Answer with at least 100 words.") paired with responses
to seeds never seen in training, labelled by the deterministic checkers.

Run: python benchmarks/e2e_pipeline.py --work out/e2e [--train-seeds 100] [--heldout-seeds 20]
     [--max-new-tokens 128] [--epochs 3] [--lr 3e-5] [--procs 2]
Every step is resumable: rerunning skips finished generation rows and reuses finished files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def run(args: list[str], log: Path) -> float:
    """Run one `ifverify` command, teeing its output into ``log``; return its wall seconds."""
    start = time.perf_counter()
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ ifverify {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([sys.executable, "-m", "ifverify", *args], stdout=out, stderr=subprocess.STDOUT)
    if done.returncode not in (0, 1):
        raise SystemExit(f"ifverify {' '.join(args)} failed with exit code {done.returncode}; see {log}")
    return time.perf_counter() - start


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def split_by_seed(rows: list[dict[str, Any]], parts: int) -> list[list[dict[str, Any]]]:
    seeds = sorted({row["seed_id"] for row in rows})
    groups = [set(seeds[i::parts]) for i in range(parts)]
    return [[row for row in rows if row["seed_id"] in group] for group in groups]


def generate(curriculum: Path, out: Path, procs: int, args: argparse.Namespace, log: Path) -> float:
    """Answer the curriculum with SmolLM2 in ``procs`` parallel processes (one thread each), then merge."""
    rows = read_jsonl(curriculum)
    shards = split_by_seed(rows, procs)
    start = time.perf_counter()
    running = []
    for i, shard in enumerate(shards):
        part_in, part_out = out.with_suffix(f".in{i}.jsonl"), out.with_suffix(f".part{i}.jsonl")
        write_jsonl(part_in, shard)
        command = [sys.executable, "-m", "ifverify", "data", "generate", str(part_in), "--out", str(part_out),
                   "--max-new-tokens", str(args.max_new_tokens), "--batch-size", str(args.batch_size),
                   "--threads", "1"]
        running.append((subprocess.Popen(command, stdout=open(log.with_suffix(f".gen{i}.log"), "a"),
                                         stderr=subprocess.STDOUT), part_out))
    merged: list[dict[str, Any]] = []
    for proc, part_out in running:
        proc.wait()
        merged += read_jsonl(part_out)
    write_jsonl(out, merged)
    return time.perf_counter() - start


def truth_pairs(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Held-out pairs labelled by the checkers: every response of a seed (L0..L5) with every hard
    constraint of that seed's instruction, phrased as text."""
    from ifverify.constraints.registry import default_registry
    from ifverify.rewards.scoring import strict_verdict

    registry = default_registry()
    by_seed: dict[str, list[dict[str, Any]]] = {}
    for row in responses:
        if isinstance(row.get("response"), str):
            by_seed.setdefault(row["seed_id"], []).append(row)
    pairs = []
    for seed_id, rows in sorted(by_seed.items()):
        top = max(rows, key=lambda r: r["level"])
        hard = [registry.build_spec(spec) for spec in top["constraints"]]
        hard = [c for c in hard if c.kind == "hard"]
        for row in sorted(rows, key=lambda r: r["level"]):
            for constraint in hard:
                pairs.append({"seed_id": seed_id, "level": row["level"], "constraint_id": constraint.id,
                              "constraint_text": constraint.instruction(), "response": row["response"],
                              "label": int(strict_verdict(constraint, row["response"]))})  # type: ignore[arg-type]
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("out/e2e"))
    parser.add_argument("--train-seeds", type=int, default=100)
    parser.add_argument("--heldout-seeds", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    log = work / "pipeline.log"
    seconds: dict[str, float] = {}
    total = args.train_seeds + args.heldout_seeds
    curriculum = work / "curriculum.jsonl"
    seconds["curriculum"] = run(["data", "curriculum", "--out", str(curriculum), "--limit", str(total)], log)
    rows = read_jsonl(curriculum)
    seeds = sorted({row["seed_id"] for row in rows})
    heldout = set(seeds[args.train_seeds:])
    write_jsonl(work / "train_curriculum.jsonl", [r for r in rows if r["seed_id"] not in heldout])
    write_jsonl(work / "heldout_curriculum.jsonl", [r for r in rows if r["seed_id"] in heldout])
    seconds["generate_train"] = generate(work / "train_curriculum.jsonl", work / "train_responses.jsonl",
                                         args.procs, args, log)
    seconds["generate_heldout"] = generate(work / "heldout_curriculum.jsonl", work / "heldout_responses.jsonl",
                                           args.procs, args, log)
    seconds["pseudo_label"] = run(["data", "pseudo-label", str(work / "train_responses.jsonl"), "--out",
                                   str(work / "pairs.jsonl"), "--format", "json"], log)
    validation = work / "validate_labels.json"
    with open(validation, "w") as out:
        subprocess.run([sys.executable, "-m", "ifverify", "data", "validate-labels", str(work / "pairs.jsonl"),
                        "--format", "json"], stdout=out, check=False)
    seconds["train"] = run(["rm", "train", str(work / "pairs.jsonl"), "--out", str(work / "rm"), "--epochs",
                            str(args.epochs), "--lr", str(args.lr), "--threads", "2"], log)
    truth = truth_pairs(read_jsonl(work / "heldout_responses.jsonl"))
    write_jsonl(work / "heldout_truth.jsonl", truth)
    evaluation = work / "heldout_eval.json"
    start = time.perf_counter()
    with open(evaluation, "w") as out:
        subprocess.run([sys.executable, "-m", "ifverify", "rm", "eval", str(work / "rm"),
                        str(work / "heldout_truth.jsonl"), "--format", "json"], stdout=out, check=False)
    seconds["eval"] = time.perf_counter() - start
    report = {"sizes": {"train_seeds": args.train_seeds, "heldout_seeds": args.heldout_seeds,
                        "curriculum_rows": len(rows), "pairs": sum(1 for _ in open(work / "pairs.jsonl")),
                        "heldout_truth_pairs": len(truth), "max_new_tokens": args.max_new_tokens,
                        "epochs": args.epochs, "lr": args.lr},
              "seconds": seconds, "validate_labels": json.loads(validation.read_text() or "null"),
              "heldout_eval": json.loads(evaluation.read_text() or "null")}
    (work / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("sizes", "seconds")}, indent=2))


if __name__ == "__main__":
    main()
