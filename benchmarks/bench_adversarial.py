"""Seconds each hard constraint takes on adversarial texts (1 MB, deep JSON, long runs, mixed scripts).

Run: python benchmarks/bench_adversarial.py [--json OUT]
Reports the slowest constraint per text; the target is well under 1 s on the 1 MB text.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_contract import adversarial_texts  # noqa: E402

from ifverify.constraints.registry import default_registry  # noqa: E402
from ifverify.rewards.scoring import LOOSE, STRICT, hard_result, loose_verdict, strict_verdict  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--mode", default=STRICT, choices=[STRICT, LOOSE])
    args = parser.parse_args()
    registry = default_registry()
    texts = adversarial_texts()
    timings: dict[str, dict[str, float]] = {}
    # Warm up: the first use of a family loads its resources (NLTK, langdetect profiles) once per process.
    for cls in registry:
        if cls.kind == "hard":
            registry.build(cls.id, cls.sample_params(random.Random(0))).check("Warm up, SENTENCE one. Two.")
    for cls in registry:
        if cls.kind != "hard":
            continue
        constraint = registry.build(cls.id, cls.sample_params(random.Random(0)))
        row = timings.setdefault(cls.id, {})
        judge = strict_verdict if args.mode == STRICT else loose_verdict
        for name, text in texts.items():
            start = time.perf_counter()
            judge(constraint, text)  # type: ignore[arg-type]
            row[name] = time.perf_counter() - start
            start = time.perf_counter()
            hard_result(constraint, text, args.mode)  # type: ignore[arg-type]
            row[name + "+reason"] = time.perf_counter() - start
    print(f"mode: {args.mode}")
    print(f"{'text':<22} {'chars':>9}  {'slowest verdict':<28} {'seconds':>8}  {'slowest with reason':<28} "
          f"{'seconds':>8}")
    for name, text in texts.items():
        slowest = max(timings, key=lambda cid: timings[cid][name])
        with_reason = max(timings, key=lambda cid: timings[cid][name + "+reason"])
        print(f"{name:<22} {len(text):>9}  {slowest:<28} {timings[slowest][name]:>8.3f}  {with_reason:<28} "
              f"{timings[with_reason][name + '+reason']:>8.3f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(timings, indent=2))


if __name__ == "__main__":
    main()
