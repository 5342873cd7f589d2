"""Benchmark ifverify.verifiers.langid against langdetect 1.0.9 (seed 0) on the 541 IFEval GPT-4 responses.

Run from anywhere: ``python benchmarks/bench_langid.py [--data FILE] [--repeat N]``.

* cold: a fresh interpreter per run; "first call" is the first ``detect`` (profile loading included,
  module import excluded and shown apart); "first pass" is all 541 texts in that fresh process.
* warm: the same process after a first pass; ours bypasses the per-text memo (``_detect_uncached``) so
  the figure is real work, and the memo-hit figure is shown on its own line.
Times are medians over ``--repeat`` runs. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "reference" / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl"

_COLD_CHILD = """
import json, sys, time
which, path = sys.argv[1], sys.argv[2]
texts = [json.loads(line)["response"] for line in open(path, encoding="utf-8")]
t0 = time.perf_counter()
if which == "langdetect":
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException
    DetectorFactory.seed = 0
    def run(text):
        try:
            return detect(text)
        except LangDetectException:
            return None
else:
    from ifverify.verifiers.langid import detect_or_none as run
    if which == "ours+numpy":
        import numpy  # what a caller that already uses numpy sees
t1 = time.perf_counter()
run(texts[0])
t2 = time.perf_counter()
for text in texts[1:]:
    run(text)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_call": t2 - t1, "first_pass": t3 - t1}))
"""


def langdetect_seeded() -> Callable[[str], str | None]:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def run(text: str) -> str | None:
        try:
            return detect(text)
        except LangDetectException:
            return None

    return run


def cold(which: str, data: Path, repeat: int) -> dict[str, float]:
    """Median import / first-call / first-pass seconds over ``repeat`` fresh interpreters."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", _COLD_CHILD, which, str(data)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        runs.append(json.loads(done.stdout))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def warm(run: Callable[[str], object], texts: list[str], repeat: int) -> float:
    """Median seconds of one pass over ``texts`` after a warm-up pass."""
    for text in texts:
        run(text)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            run(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"data file not found: {args.data}")
    texts = [json.loads(line)["response"] for line in args.data.open(encoding="utf-8") if line.strip()]

    sys.path.insert(0, str(REPO))
    from ifverify.verifiers import langid

    reference = langdetect_seeded()
    agree = sum(langid.detect_or_none(text) == reference(text) for text in texts)
    cold_ref, cold_ours = cold("langdetect", args.data, args.repeat), cold("ours", args.data, args.repeat)
    cold_numpy = cold("ours+numpy", args.data, args.repeat)
    warm_ref = warm(reference, texts, args.repeat)
    warm_ours = warm(langid._detect_uncached, texts, args.repeat)
    memo = warm(langid.detect_or_none, texts, args.repeat)

    n = len(texts)
    print(f"{n} texts, {agree}/{n} identical results; median of {args.repeat} runs; python {sys.version.split()[0]}")
    print(f"{'':28}{'langdetect':>12}{'langid':>12}{'speedup':>10}")
    rows = [
        ("import (ms, incl. package)", cold_ref["import"] * 1e3, cold_ours["import"] * 1e3),
        ("cold first call (ms)", cold_ref["first_call"] * 1e3, cold_ours["first_call"] * 1e3),
        ("  same, numpy preloaded", cold_ref["first_call"] * 1e3, cold_numpy["first_call"] * 1e3),
        ("cold first pass (s)", cold_ref["first_pass"], cold_ours["first_pass"]),
        ("cold first pass (texts/s)", n / cold_ref["first_pass"], n / cold_ours["first_pass"]),
        ("warm pass (s)", warm_ref, warm_ours),
        ("warm (texts/s)", n / warm_ref, n / warm_ours),
    ]
    for label, ref, ours in rows:
        speedup = ours / ref if "texts/s" in label else ref / ours
        print(f"{label:28}{ref:12.3f}{ours:12.3f}{speedup:9.1f}x")
    print(f"langid with memo hits (detect_or_none on already-seen texts): {n / memo:,.0f} texts/s")


if __name__ == "__main__":
    main()
