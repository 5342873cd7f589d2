"""Tokens per second of the packaged SmolLM2-135M-Instruct on CPU, by batch size and torch threads.

Run: python benchmarks/bench_generate.py [--json OUT] [--new-tokens 32] [--prompts 4]
Each configuration answers the same prompts with exactly ``--new-tokens`` new tokens per prompt (EOS is
suppressed by ``min_new_tokens``), greedy, after one untimed warm-up batch; tokens/s counts new tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

from ifverify.data.curriculum import load_bundled_seeds
from ifverify.data.generate import LocalGenerator


def measure(generator: LocalGenerator, prompts: list[str], new_tokens: int) -> dict[str, float]:
    """Seconds and new tokens/s for ``prompts`` at the generator's batch size and threads."""
    list(generator.generate(prompts[: generator.batch_size]))  # warm-up: first-call allocations
    start = time.perf_counter()
    answers = list(generator.generate(prompts))
    seconds = time.perf_counter() - start
    tokens = new_tokens * len(answers)
    return {"seconds": round(seconds, 3), "new_tokens": tokens, "tokens_per_s": round(tokens / seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", dest="json_out", help="Also write the results as JSON.")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--prompts", type=int, default=4, help="Prompts per configuration.")
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    prompts = [seed.instruction for seed in load_bundled_seeds()[: args.prompts]]
    start = time.perf_counter()
    generator = LocalGenerator(max_new_tokens=args.new_tokens,
                               generation_kwargs={"min_new_tokens": args.new_tokens})
    load_s = time.perf_counter() - start
    results: list[dict[str, Any]] = []
    for threads in (int(t) for t in args.threads.split(",")):
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            generator.threads, generator.batch_size = threads, batch_size
            results.append({"threads": threads, "batch_size": batch_size,
                            **measure(generator, prompts, args.new_tokens)})
    print(f"SmolLM2-135M-Instruct (GGUF Q4_1 -> float32), {len(prompts)} prompts x {args.new_tokens} new tokens, "
          f"load {load_s:.1f} s, {os.cpu_count()} CPUs visible")
    print(f"{'threads':>7}  {'batch':>5}  {'seconds':>8}  {'tokens/s':>8}")
    for row in results:
        print(f"{row['threads']:>7}  {row['batch_size']:>5}  {row['seconds']:>8.2f}  {row['tokens_per_s']:>8.1f}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump({"model": generator.model_name, "prompts": len(prompts), "new_tokens": args.new_tokens,
                       "load_seconds": round(load_s, 2), "machine": platform.machine(),
                       "cpus": os.cpu_count(), "results": results}, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
