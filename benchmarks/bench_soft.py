"""Batched soft-constraint scoring vs one call per pair, on the packaged all-MiniLM-L6-v2.

Run: python benchmarks/bench_soft.py [--n 512] [--threads 2] [--max-length 256] [--device cpu] [--json OUT]
     [--model DIR] [--responses FILE] [--batch-sizes 8,32,64] [--compare-cpu 64]

Figures, all in one process on the same model and texts (the head is untrained: speed only):
* (a) one ``score_pairs`` call over all N pairs (batch size 32) vs (b) one ``score_pairs([pair])`` call per
  pair, in seconds, with the speedup and the largest score difference between the two;
* (c) pairs per second of the batched call at batch sizes 8, 32 and 64;
* (d) the peak resident memory of the process (``resource.getrusage``), and on CUDA the peak GPU memory;
* (e) with ``--compare-cpu K``: the largest score difference on K pairs between the device (float16 on
  CUDA) and the CPU in float32, same weights.

``--model default`` instead times the packaged soft verifier against the bare cross-encoder on the same pairs.
``--model DIR`` scores with another local model folder (e.g. a float16 copy of the packaged MiniLM, for a
machine without the package); ``--responses FILE`` reads the responses from another copy of the file.

On CUDA, one untimed pass of each way comes first, since a GPU tunes kernels per new input shape.

Pairs: N responses cycled from IFEval's GPT-4 demo responses (``third_party/ifeval``; most run past
256 tokens and are truncated, as long RL completions are), or generated prose when that folder is absent,
each paired with one of 16 soft constraint texts.  On the CPU each timed call follows one untimed warm-up call.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
IFEVAL_RESPONSES = REPO / "third_party" / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl"

CONSTRAINTS = [
    "Write for a ten-year-old reader.",
    "Use a formal, professional tone throughout.",
    "Sound enthusiastic and upbeat.",
    "Write in the style of a news report.",
    "Avoid technical jargon; explain terms a layperson would not know.",
    "Answer as a friendly tour guide speaking to visitors.",
    "Keep the answer concise and to the point.",
    "Include a concrete example that illustrates the main idea.",
    "Do not mention any brand names.",
    "End with a question that invites the reader to reflect.",
    "Use vivid sensory details in the descriptions.",
    "Structure the answer as a step-by-step guide.",
    "Write in a humorous, light-hearted way.",
    "Address the reader directly in the second person.",
    "Present both sides of the argument before concluding.",
    "Use simple sentences with no subordinate clauses.",
]


def prompted(n: int, path: Path = IFEVAL_RESPONSES) -> tuple[list[tuple[str, str]], str]:
    """N (prompt, response) rows and where they came from."""
    if path.is_file():
        with open(path, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return ([(rows[i % len(rows)]["prompt"], rows[i % len(rows)]["response"]) for i in range(n)],
                f"IFEval GPT-4 responses ({len(rows)} distinct)")
    texts, source = responses(n, path)
    return [("Write about the sea.", text) for text in texts], source


def responses(n: int, path: Path = IFEVAL_RESPONSES) -> tuple[list[str], str]:
    """N responses and where they came from."""
    if path.is_file():
        with open(path, encoding="utf-8") as handle:
            texts = [json.loads(line)["response"] for line in handle if line.strip()]
        return [texts[i % len(texts)] for i in range(n)], f"IFEval GPT-4 responses ({len(texts)} distinct)"
    rng = random.Random(0)
    words = ("the lighthouse keeper watched storm waves break against rocks while gulls circled above old harbour "
             "boats and children ran along sandy beach toward warm cottages").split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(40, 400))) for _ in range(n)], "generated prose"


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def sync(device: str) -> None:
    """Wait for queued GPU work, so a timer read after it counts it."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def run(n: int, threads: int, max_length: int | None, device: str, *, model: Path | None = None,
        responses_path: Path = IFEVAL_RESPONSES, batch_sizes: tuple[int, ...] = (8, 32, 64),
        compare_cpu: int = 0) -> dict[str, Any]:
    from ifverify.learned.classifier import SoftClassifier

    texts, source = responses(n, responses_path)
    pairs = [(CONSTRAINTS[i % len(CONSTRAINTS)], text) for i, text in enumerate(texts)]
    load_s, classifier = timed(lambda: SoftClassifier.load(model, device=device, batch_size=32,
                                                           max_length=max_length, threads=threads))
    max_length = classifier.max_length
    if classifier.device.startswith("cuda"):
        # A GPU tunes its kernels for each new input shape on first sight: both ways see every shape first.
        classifier.score_pairs(pairs)
        for pair in pairs:
            classifier.score_pairs([pair])
    else:
        classifier.score_pairs(pairs[:32])
    sync(classifier.device)
    batched_s, batched = timed(lambda: classifier.score_pairs(pairs))
    single_s, single = timed(lambda: [classifier.score_pairs([pair])[0] for pair in pairs])
    throughput = {}
    for size in batch_sizes:
        classifier.batch_size = size
        classifier.score_pairs(pairs if classifier.device.startswith("cuda") else pairs[:size])  # warm-up
        seconds, _ = timed(lambda: classifier.score_pairs(pairs))
        throughput[size] = {"seconds": round(seconds, 3), "pairs_per_s": round(n / seconds, 1)}
    tokens = [len(f["input_ids"]) for f in classifier.encode(pairs)]
    extra: dict[str, Any] = {}
    if classifier.device.startswith("cuda"):
        import torch

        extra["gpu"] = torch.cuda.get_device_name(0)
        extra["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        extra["dtype"] = str(next(classifier.model.parameters()).dtype)
    if compare_cpu:
        reference = SoftClassifier.load(model, device="cpu", batch_size=32, max_length=max_length)
        on_cpu = reference.score_pairs(pairs[:compare_cpu])
        extra["compare_cpu_pairs"] = compare_cpu
        extra["max_abs_diff_vs_cpu_float32"] = max(abs(a - b) for a, b in zip(batched, on_cpu, strict=False))
    return {
        **extra,
        "model": "packaged all-MiniLM-L6-v2" if model is None else str(model),
        "n": n, "threads": threads, "max_length": max_length, "responses": source, "load_s": round(load_s, 2),
        "device": classifier.device, "mean_tokens": round(sum(tokens) / n, 1),
        "truncated_fraction": round(sum(t == max_length for t in tokens) / n, 3),
        "batched_s": round(batched_s, 3), "one_per_pair_s": round(single_s, 3),
        "speedup": round(single_s / batched_s, 1),
        "max_abs_diff": max(abs(a - b) for a, b in zip(batched, single, strict=True)),
        "throughput": throughput,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_default(n: int, threads: int, responses_path: Path = IFEVAL_RESPONSES, repeats: int = 3) -> dict[str, Any]:
    """Pairs per second of the packaged soft verifier against the bare cross-encoder (256 tokens), same pairs,
    same process; each timed pass uses a new verifier instance (no embeddings kept from an earlier pass).  The
    verifier is timed twice: on pairs (no prompt: the plain head) and on queries that carry each response's own
    prompt (the prompt head; every prompt distinct, so nothing is shared as it is within a GRPO group)."""
    import torch

    from ifverify.learned.classifier import SoftClassifier
    from ifverify.learned.default import default_classifier

    torch.set_num_threads(threads)
    rows, source = prompted(n, responses_path)
    pairs = [(CONSTRAINTS[i % len(CONSTRAINTS)], text) for i, (_, text) in enumerate(rows)]
    queries = [(constraint, text, prompt) for (constraint, text), (prompt, _) in zip(pairs, rows, strict=True)]
    default_classifier().score_pairs(pairs[:32])  # warm-up: the encoder loads once per process
    default_s = min(timed(lambda: default_classifier().score_pairs(pairs))[0] for _ in range(repeats))
    prompted_s = min(timed(lambda: default_classifier().score_queries(queries))[0] for _ in range(repeats))
    cross = SoftClassifier.load(None, batch_size=32, max_length=256)
    cross.score_pairs(pairs[:32])
    cross_s = min(timed(lambda: cross.score_pairs(pairs))[0] for _ in range(repeats))
    return {"n": n, "threads": threads, "responses": source, "default_pairs_per_s": round(n / default_s, 1),
            "default_with_prompt_pairs_per_s": round(n / prompted_s, 1), "default_with_prompt_s": round(prompted_s, 3),
            "cross_encoder_pairs_per_s": round(n / cross_s, 1), "default_s": round(default_s, 3),
            "cross_encoder_s": round(cross_s, 3)}


def render(result: dict[str, Any]) -> str:
    lines = [f"soft scoring: {result['model']} on {result['device']}, N={result['n']} pairs, "
             f"{result['threads']} threads, "
             f"max_length {result['max_length']}",
             f"responses: {result['responses']}; mean {result['mean_tokens']} tokens/pair, "
             f"{result['truncated_fraction']:.0%} truncated; load {result['load_s']} s (torch import included)", "",
             f"{'(a) batched score_pairs (batch 32)':<40}{result['batched_s']:>9.3f} s",
             f"{'(b) one score_pairs([pair]) per pair':<40}{result['one_per_pair_s']:>9.3f} s",
             f"{'speedup (b)/(a)':<40}{result['speedup']:>9.1f} x",
             f"{'max |score(a) - score(b)|':<40}{result['max_abs_diff']:>9.1e}", "",
             f"{'(c) batch size':<16}{'seconds':>10}{'pairs/s':>10}"]
    for size, row in result["throughput"].items():
        lines.append(f"{size:<16}{row['seconds']:>10.3f}{row['pairs_per_s']:>10.1f}")
    lines += ["", f"{'(d) peak RSS':<40}{result['peak_rss_mb']:>9.1f} MB"]
    if "peak_gpu_mb" in result:
        lines.append(f"{'    peak GPU memory':<40}{result['peak_gpu_mb']:>9.1f} MB "
                     f"({result['gpu']}, {result['dtype']})")
    if "max_abs_diff_vs_cpu_float32" in result:
        lines.append(f"{'(e) max |device - cpu float32|':<40}{result['max_abs_diff_vs_cpu_float32']:>9.1e} "
                     f"on {result['compare_cpu_pairs']} pairs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=512, help="pairs (default 512)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="tokens per pair (default: the model's own, 256 for the bare MiniLM)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu; cuda runs in float16)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--model", help="a local model folder, or 'default' for the packaged soft verifier "
                        "(default: the packaged MiniLM with a fresh head)")
    parser.add_argument("--responses", type=Path, default=IFEVAL_RESPONSES, help="IFEval's response file")
    parser.add_argument("--batch-sizes", default="8,32,64", help="batch sizes for (c), comma-separated")
    parser.add_argument("--compare-cpu", type=int, default=0, metavar="K", help="(e) on the first K pairs")
    args = parser.parse_args(argv)
    sizes = tuple(int(size) for size in args.batch_sizes.split(","))
    if args.model == "default":
        result = run_default(args.n, args.threads, args.responses)
        print(f"soft scoring on cpu, N={result['n']} pairs, {result['threads']} threads ({result['responses']})\n"
              f"packaged soft verifier, pairs (no prompt):     {result['default_pairs_per_s']:>8.1f} pairs/s\n"
              f"packaged soft verifier, each with its prompt:  "
              f"{result['default_with_prompt_pairs_per_s']:>8.1f} pairs/s\n"
              f"bare cross-encoder (MiniLM, 256 tokens):       {result['cross_encoder_pairs_per_s']:>8.1f} pairs/s")
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        return 0
    if args.model is not None:
        args.model = Path(args.model)
    result = run(args.n, args.threads, args.max_length, args.device, model=args.model,
                 responses_path=args.responses, batch_sizes=sizes, compare_cpu=args.compare_cpu)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
