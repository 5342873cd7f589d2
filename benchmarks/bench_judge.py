"""Cost per pair of an LLM judge over HTTP against the soft classifier, on the same pairs and machine.

Run: python benchmarks/bench_judge.py [--pairs 64] [--threads 1] [--concurrency 1] [--rounds 4]
     [--classifier SPEC] [--data FILE] [--json OUT]

* The judge: the packaged SmolLM2-135M-Instruct served by ``ifverify.learned.judge_server`` (greedy, real
  top-20 logprobs) on a local port in this process, scored by ``JudgeScorer`` through HTTP exactly as a
  ``judge:<url>`` spec does (one request per pair, ``max_tokens`` 1), with the cache off.
* The classifier: ``load_scorer(SPEC)`` (default ``default``, the packaged soft verifier; when that cannot
  load, the packaged all-MiniLM-L6-v2 with a fresh head, ``SoftClassifier.load(None)``, which measures speed
  only), one batched ``score_pairs`` call over all pairs.
* Pairs: the paper's released pseudo-label pairs (``third_party/verl-if/train.parquet``, Apache-2.0): the
  first rows, in file order, whose last constraint is soft (``situation:``, ``soft_content:``, ``style:``);
  each gives (last constraint, chosen) labelled 1 and (last constraint, rejected) labelled 0.

Both sides run on ``--threads`` torch threads after one untimed warm-up call, in ``--rounds`` interleaved
passes (each round: the classifier over all pairs, then the judge over a quarter of them), because the
shared machine's speed drifts.  Reported: wall-clock and process-CPU seconds per pair of each, the ratios
(judge / classifier), the judge's verdict sources, and the ROC-AUC of each scorer's scores against the
pseudo-labels on these pairs (a sanity figure on few pairs, not an evaluation).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "third_party" / "verl-if" / "train.parquet"
SOFT_PREFIXES = ("situation:", "soft_content:", "style:")


def paper_pairs(path: Path, n: int) -> list[tuple[str, str, int]]:
    """(constraint text, response, label) from the first rows whose last constraint is soft."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["constraint", "instruction_id_list", "chosen", "rejected"]).to_pylist()
    pairs: list[tuple[str, str, int]] = []
    for row in table:
        if len(pairs) >= n:
            break
        if str(row["instruction_id_list"][-1]).startswith(SOFT_PREFIXES):
            text = str(row["constraint"][-1])
            pairs += [(text, str(row["chosen"]), 1), (text, str(row["rejected"]), 0)]
    return pairs[:n]


class Clock:
    """Accumulated wall-clock and process CPU seconds (CPU counts every thread of this process: for the
    judge that is the server's model thread plus the HTTP client and handler threads)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def run(self, func: Any, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = func(*args)
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        return result


def start_judge(threads: int, concurrency: int) -> tuple[Any, Any, float]:
    """(scorer, server, model load seconds): SmolLM2 served on a local port, a cache-less JudgeScorer on it."""
    from ifverify.learned.judge import JudgeScorer
    from ifverify.learned.judge_server import ChatServer, load_chat_model

    started = time.perf_counter()
    chat_model = load_chat_model(None, threads=threads)
    load_s = time.perf_counter() - started
    server = ChatServer(chat_model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scorer = JudgeScorer(server.url, concurrency=concurrency, cache_size=0, timeout=600, retries=0)
    scorer.score_pairs([("Be brief.", "Ok.")])  # warm-up, untimed
    return scorer, server, load_s


def load_classifier(spec: str, threads: int) -> tuple[Any, str]:
    from ifverify.learned.scorers import load_scorer

    try:
        return load_scorer(spec), spec
    except Exception as exc:  # the packaged default may not be installed yet: fall back, and say so
        from ifverify.learned.classifier import SoftClassifier

        print(f"cannot load {spec!r} ({type(exc).__name__}: {exc}); using the packaged MiniLM with a fresh "
              "head (speed only)", file=sys.stderr)
        return SoftClassifier.load(None, threads=threads), "packaged MiniLM, fresh head"


def measure(pairs: list[tuple[str, str]], threads: int, concurrency: int, spec: str,
            rounds: int) -> dict[str, Any]:
    """Interleaved passes (the shared machine's speed drifts): each round scores all pairs with the
    classifier, then a 1/rounds slice of them with the judge; totals are summed over the rounds."""
    import torch

    torch.set_num_threads(threads)
    classifier, name = load_classifier(spec, threads)
    classifier.score_pairs(pairs[:8])  # warm-up, untimed
    judge, server, load_s = start_judge(threads, concurrency)
    judge_scores: dict[int, float] = {}
    classifier_scores: list[float] = []
    judge_clock, classifier_clock = Clock(), Clock()
    try:
        for r in range(rounds):
            if callable(getattr(classifier, "clear_cache", None)):
                classifier.clear_cache()  # every pass embeds every text, as new GRPO completions need
            classifier_scores = list(classifier_clock.run(classifier.score_pairs, pairs))
            chunk = list(range(r, len(pairs), rounds))
            scores = judge_clock.run(judge.score_pairs, [pairs[i] for i in chunk])
            judge_scores.update(zip(chunk, scores, strict=True))
    finally:
        server.shutdown()
        server.server_close()
    stats = judge.stats.to_dict()
    n = len(pairs)
    return {
        "judge": {"model": server.chat_model.name, "load_s": round(load_s, 2), "pairs_timed": n,
                  "per_pair_s": judge_clock.wall / n, "cpu_per_pair_s": judge_clock.cpu / n,
                  "verdicts": {"logprobs": stats["logprob_verdicts"] - 1, "text": stats["text_verdicts"]},
                  "scores": [judge_scores[i] for i in range(n)]},
        "classifier": {"model": name, "pairs_timed": n * rounds, "per_pair_s": classifier_clock.wall / (n * rounds),
                       "cpu_per_pair_s": classifier_clock.cpu / (n * rounds), "scores": classifier_scores},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for each side")
    parser.add_argument("--concurrency", type=int, default=1, help="judge requests in flight")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved passes (see measure)")
    parser.add_argument("--classifier", default="default", help="scorer spec of the classifier side")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    from ifverify.learned.metrics import roc_auc

    labelled = paper_pairs(args.data, args.pairs)
    pairs = [(c, r) for c, r, _ in labelled]
    labels = [y for _, _, y in labelled]
    figures = measure(pairs, args.threads, args.concurrency, args.classifier, args.rounds)
    judge, classifier = figures["judge"], figures["classifier"]
    result = {
        "pairs": len(pairs), "data": str(args.data.relative_to(REPO) if args.data.is_relative_to(REPO) else args.data),
        "threads": args.threads, "concurrency": args.concurrency, "rounds": args.rounds,
        "judge": {k: v for k, v in judge.items() if k != "scores"},
        "classifier": {k: v for k, v in classifier.items() if k != "scores"},
        "ratio_judge_over_classifier": judge["per_pair_s"] / classifier["per_pair_s"],
        "cpu_ratio_judge_over_classifier": judge["cpu_per_pair_s"] / classifier["cpu_per_pair_s"],
        "auroc_vs_pseudo_labels": {"judge": roc_auc(judge["scores"], labels),
                                   "classifier": roc_auc(classifier["scores"], labels)},
    }
    print(f"{len(pairs)} pairs from {result['data']}, {args.threads} thread(s)")
    print(f"judge      {judge['model']} over HTTP: {judge['per_pair_s'] * 1000:8.1f} ms/pair wall, "
          f"{judge['cpu_per_pair_s'] * 1000:8.1f} ms/pair CPU (verdicts {judge['verdicts']}, "
          f"model load {judge['load_s']} s)")
    print(f"classifier {classifier['model']}: {classifier['per_pair_s'] * 1000:8.1f} ms/pair wall, "
          f"{classifier['cpu_per_pair_s'] * 1000:8.1f} ms/pair CPU (batched, {args.rounds} passes)")
    print(f"ratio judge / classifier: {result['ratio_judge_over_classifier']:.1f}x wall, "
          f"{result['cpu_ratio_judge_over_classifier']:.1f}x CPU")
    print("ROC-AUC against the pseudo-labels: " + ", ".join(
        f"{k} {v:.3f}" if v is not None else f"{k} n/a" for k, v in result["auroc_vs_pseudo_labels"].items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
