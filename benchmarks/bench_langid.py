"""Benchmark ifverify.verifiers.langid against langdetect 1.0.9 (seed 0) on the 541 IFEval GPT-4 responses.

Run from anywhere: ``python benchmarks/bench_langid.py [--data FILE] [--repeat N] [--limit N] [--langid FILE]``
(``--langid`` times another ``langid.py``, e.g. ``git show REV:ifverify/verifiers/langid.py > /tmp/old.py``).

Every figure is wall time in fresh interpreters (median of ``--repeat``; ``ifverify.verifiers`` itself is
imported before the clock starts), each of which:

1. imports the detector (``import``; ours imports nothing heavy, so this is tiny);
2. loads the profiles (``load``: langdetect's ``init_factory()``, our ``_model()``, numpy's import included;
   the ``numpy preloaded`` line shows our load when the caller has already imported numpy);
3. detects every text once (``first pass``: what ``ifverify check`` pays; our caches start empty);
4. clears the per-text memo (``_detect_cached.cache_clear()``) and detects every text again (``warm pass``:
   the real work with profiles, n-gram rows and word caches warm; langdetect has nothing to clear).

``--limit 100`` mimics one strict ``ifverify check`` pass (about 90-110 texts are detected there).
Nothing here asserts on time; the results of both detectors are compared (``identical``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "third_party" / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl"

_CHILD = """
import importlib.util, json, sys, time
import ifverify.verifiers  # the package itself (and what it imports) is not the detector's cost
which, path, limit, module = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
texts = [json.loads(line)["response"] for line in open(path, encoding="utf-8") if line.strip()]
texts = texts[:limit] if limit > 0 else texts
if which == "ours+numpy":
    import numpy  # what a caller that already uses numpy sees
clock = time.perf_counter
t0 = clock()
if which == "langdetect":
    from langdetect import DetectorFactory, detect, detector_factory
    from langdetect.lang_detect_exception import LangDetectException
    def run(text):
        try:
            return detect(text)
        except LangDetectException:
            return None
    clear = lambda: None
elif module:
    spec = importlib.util.spec_from_file_location("langid_under_test", module)
    langid = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(langid)
    run, clear = langid.detect_or_none, langid._detect_cached.cache_clear
else:
    from ifverify.verifiers import langid
    run, clear = langid.detect_or_none, langid._detect_cached.cache_clear
t1 = clock()
if which == "langdetect":
    DetectorFactory.seed = 0
    detector_factory.init_factory()
else:
    langid._model()
t2 = clock()
first = [run(text) for text in texts]
t3 = clock()
clear()
again = [run(text) for text in texts]
t4 = clock()
assert first == again
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first": t3 - t2, "warm": t4 - t3, "results": first}))
"""


def child(which: str, data: Path, limit: int, repeat: int, module: Path | None) -> dict[str, object]:
    """Median seconds of each phase over ``repeat`` fresh interpreters (plus the results of the last)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, which, str(data), str(limit), str(module or "")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        runs.append(json.loads(done.stdout))
    medians: dict[str, object] = {
        key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "results"
    }
    medians["results"] = runs[-1]["results"]
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="only the first N responses (0: all)")
    parser.add_argument("--langid", type=Path, help="time this langid.py (e.g. an older version) instead")
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"data file not found: {args.data}")

    ref = child("langdetect", args.data, args.limit, args.repeat, None)
    ours = child("ours", args.data, args.limit, args.repeat, args.langid)
    preloaded = child("ours+numpy", args.data, args.limit, args.repeat, args.langid)
    results_ref, results_ours = ref["results"], ours["results"]
    assert isinstance(results_ref, list) and isinstance(results_ours, list)
    n = len(results_ref)
    agree = sum(a == b for a, b in zip(results_ref, results_ours, strict=True))

    version = sys.version.split()[0]
    print(f"{n} texts, {agree}/{n} identical results; median of {args.repeat} fresh processes; python {version}")
    print(f"{'':34}{'langdetect':>12}{'langid':>12}{'speedup':>10}")

    def row(label: str, a: object, b: object, scale: float) -> None:
        assert isinstance(a, float) and isinstance(b, float)
        print(f"{label:34}{a * scale:12.1f}{b * scale:12.1f}{a / b:9.1f}x")

    row("import (ms)", ref["import"], ours["import"], 1e3)
    row("profile load (ms)", ref["load"], ours["load"], 1e3)
    row("  ours with numpy preloaded (ms)", ref["load"], preloaded["load"], 1e3)
    row("first pass (ms)", ref["first"], ours["first"], 1e3)
    row("first pass (ms / text)", ref["first"], ours["first"], 1e3 / n)
    row("load + first pass (ms)", ref["load"] + ref["first"], ours["load"] + ours["first"], 1e3)  # type: ignore[operator]
    row("warm pass, memo cleared (ms)", ref["warm"], ours["warm"], 1e3)
    row("warm pass (ms / text)", ref["warm"], ours["warm"], 1e3 / n)


if __name__ == "__main__":
    main()
