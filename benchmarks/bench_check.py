"""Responses per second of ``ifverify check`` vs the reference IFEval checker, on the 541 GPT-4 responses.

Run: python benchmarks/bench_check.py [--repeats 5] [--scale 20] [--json OUT]

Figures, strict and loose, all on this machine in one run:
* warm (import excluded): in-process passes over the 541 rows after one untimed pass, with ifverify's
  per-text memos (and memoised params verdicts) cleared and its constraints rebuilt before each pass,
  so no verdict, tokenization or detection is reused between passes (the reference's warm passes
  likewise reuse only their loaded resources; the language profiles' probability rows are built on
  first use and stay, like the rest of the profiles).  A second figure keeps the built constraints, as a
  long-lived Reward does;
* warm with 2 workers (import excluded): the same passes spread over ``check``'s own pool of forked
  workers, each task clearing its worker's memos and building its constraints afresh;
* first pass (import excluded): a fresh process, modules imported, then one timed pass: this includes
  loading the tokenizers and the language profiles on first use;
* CLI (import included): wall time of the whole `ifverify check` command in a fresh process, with
  1 process and with 2 workers, on the 541 rows and on the rows repeated ``--scale`` times;
* the reference (lm-eval's port of Google's checker, see reference_ifeval.py), warm and cold;
* the speedup from interleaved passes (ours, the reference's, ours, ...): the median of the ratios of
  neighbouring passes, the figure least moved by a shared machine's drifting speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reference_ifeval as ref  # noqa: E402

from ifverify.rewards.evaluate import evaluate_row  # noqa: E402
from ifverify.rewards.rows import ConstraintCache  # noqa: E402


def clear_text_memos() -> None:
    """Forget every per-text result so a pass recomputes everything (resources stay loaded)."""
    from ifverify.constraints.base import clear_validation_memo
    from ifverify.verifiers import langid
    from ifverify.verifiers import text as tx

    clear_validation_memo()

    for fn in (tx.sentences, tx.count_sentences_upto, tx.count_capital_words):
        fn.cache_clear()
    langid._detect_cached.cache_clear()


def ours_warm(rows: list[dict[str, Any]], mode: str, repeats: int, *, reuse_constraints: bool = False) -> list[float]:
    """Seconds per pass.  By default every pass builds (and validates) its constraints afresh, as one
    `check` run does and as the reference does; ``reuse_constraints`` keeps built constraints between
    passes, as a long-lived Reward does when a dataset repeats across epochs and groups."""
    cache = ConstraintCache()
    for row in rows:
        evaluate_row(row, cache, mode, detail=False)
    times = []
    for _ in range(repeats):
        clear_text_memos()
        if not reuse_constraints:
            cache = ConstraintCache()
        start = time.perf_counter()
        for row in rows:
            evaluate_row(row, cache, mode, detail=False)
        times.append(time.perf_counter() - start)
    return times


def interleaved(rows: list[dict[str, Any]], mode: str, repeats: int) -> list[float]:
    """Speedups over the reference from alternating passes (ours, then the reference's), one per pair.

    A shared machine's speed drifts over a run; a ratio of two neighbouring passes is much steadier
    than a ratio of two figures taken minutes apart.  Our passes start cold as in :func:`ours_warm`.
    """
    evaluate = ref.EVALUATORS[mode]
    ratios = []
    for _ in range(repeats):
        clear_text_memos()
        cache = ConstraintCache()
        start = time.perf_counter()
        for row in rows:
            evaluate_row(row, cache, mode, detail=False)
        ours = time.perf_counter() - start
        start = time.perf_counter()
        evaluate(rows)
        ratios.append((time.perf_counter() - start) / ours)
    return ratios


def _chunk_from_cold(args: tuple[list[dict[str, Any]], str]) -> list[dict[str, Any]]:
    """One task of the worker measure, in a worker: memos cleared and constraints built afresh first."""
    rows, mode = args
    clear_text_memos()
    cache = ConstraintCache()
    return [evaluate_row(row, cache, mode, detail=False) for row in rows]


def ours_workers_warm(rows: list[dict[str, Any]], mode: str, workers: int, repeats: int) -> list[float]:
    """Seconds per pass spread over ``check``'s own worker pool (warm, forked), results sent back.

    The pool is started and used once untimed; each task then clears its worker's memos and builds
    its constraints afresh, so nothing computed is reused between passes (or between tasks).
    """
    from ifverify.cli.check import chunk_size, worker_pool

    size = chunk_size(len(rows), workers)
    tasks = [(rows[i : i + size], mode) for i in range(0, len(rows), size)]
    times = []
    with worker_pool(workers) as pool:
        list(pool.map(_chunk_from_cold, tasks))
        for _ in range(repeats):
            start = time.perf_counter()
            done = list(pool.map(_chunk_from_cold, tasks))
            times.append(time.perf_counter() - start)
            assert sum(map(len, done)) == len(rows)
    return times


_FIRST_PASS = """
import json, sys, time
sys.path.insert(0, {here!r})
import bench_check as b
import reference_ifeval as ref
from ifverify.rewards.evaluate import evaluate_row
from ifverify.rewards.rows import ConstraintCache
rows = ref.load_rows(ref.DEFAULT_REF_DIR)
start = time.perf_counter()
cache = ConstraintCache()
for row in rows:
    evaluate_row(row, cache, {mode!r}, detail=False)
print(time.perf_counter() - start)
"""


def ours_first_pass(mode: str) -> float:
    code = _FIRST_PASS.format(here=str(HERE), mode=mode)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def cli_seconds(input_path: Path, mode: str, workers: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ifverify", "check", str(input_path), "--mode", mode,
                    "--workers", str(workers), "--format", "json"], check=True, capture_output=True)
    return time.perf_counter() - start


def write_rows(rows: list[dict[str, Any]], path: Path, scale: int) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(scale):
            for row in rows:
                out.write(json.dumps(row) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=int, default=20, help="copies of the 541 rows for the large-file run")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    rows = ref.load_rows(ref.DEFAULT_REF_DIR)
    n = len(rows)
    report: dict[str, Any] = {"rows": n, "python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        small = write_rows(rows, Path(tmp) / "small.jsonl", 1)
        large = write_rows(rows, Path(tmp) / "large.jsonl", args.scale)
        for mode in ("strict", "loose"):
            warm = ours_warm(rows, mode, args.repeats)
            reused = ours_warm(rows, mode, args.repeats, reuse_constraints=True)
            entry: dict[str, Any] = {
                "ours_warm_best_rps": n / min(warm),
                "ours_warm_median_rps": n / statistics.median(warm),
                "ours_warm_reused_constraints_best_rps": n / min(reused),
                "ours_warm_2workers_best_rps": n / min(ours_workers_warm(rows, mode, 2, args.repeats)),
                "ours_first_pass_rps": n / ours_first_pass(mode),
                "ours_cli_1proc_rps": n / cli_seconds(small, mode, 1),
                "ours_cli_2workers_rps": n / cli_seconds(small, mode, 2),
                f"ours_cli_x{args.scale}_1proc_rps": n * args.scale / cli_seconds(large, mode, 1),
                f"ours_cli_x{args.scale}_2workers_rps": n * args.scale / cli_seconds(large, mode, 2),
            }
            if not args.no_reference:
                try:
                    ref.EVALUATORS[mode](rows)  # untimed warm-up pass, as for ours
                    timing = ref.time_warm(mode, rows, args.repeats)
                    cold = ref.time_cold(mode, ref.DEFAULT_REF_DIR)
                    entry["reference_warm_best_rps"] = timing.best_rps
                    entry["reference_warm_median_rps"] = timing.median_rps
                    entry["reference_first_pass_rps"] = n / cold["first_pass_s"]
                    entry["reference_import_plus_pass_rps"] = cold["responses_per_s"]
                    entry["speedup_warm_best"] = entry["ours_warm_best_rps"] / timing.best_rps
                    entry["speedup_warm_median"] = entry["ours_warm_median_rps"] / timing.median_rps
                    entry["speedup_first_pass"] = entry["ours_first_pass_rps"] / entry["reference_first_pass_rps"]
                    ratios = interleaved(rows, mode, 2 * args.repeats + 1)
                    entry["speedup_interleaved_median"] = statistics.median(ratios)
                    entry["speedup_interleaved_range"] = f"{min(ratios):.1f}-{max(ratios):.1f}"
                except ref.ReferenceUnavailable as exc:
                    entry["reference"] = f"unavailable: {exc} ({ref.INSTALL_COMMAND})"
            report[mode] = entry
    for mode in ("strict", "loose"):
        print(f"\n{mode}")
        for key, value in report[mode].items():
            print(f"  {key:<32} {value:>10.1f}" if isinstance(value, float) else f"  {key:<32} {value}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
