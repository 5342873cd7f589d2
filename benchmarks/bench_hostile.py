"""Worst seconds per row on hostile texts up to 1 MB: every hard type, strict and loose.

A row is one constraint scored on one text.  Each of the 23 hard types is built with several params
(its sampled ones, and for the types whose params are regexes under IFEval semantics, catastrophic
patterns too); each is scored on every text of a corpus of adversarial texts at 10 KB, 100 KB and
1 MB, cold (the per-text memos cleared first), in strict and in loose mode.  A row that raises (a
pattern over its time budget) counts with the time it took.  The target is under 0.5 s per row at 1 MB.

    python benchmarks/bench_hostile.py [--sizes 10000,100000,1000000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path
from typing import Any

from ifverify.constraints.registry import default_registry
from ifverify.rewards.scoring import loose_verdict, strict_verdict
from ifverify.verifiers import hard_types, langid
from ifverify.verifiers import text as tx

TARGET_S = 0.5
UNITS = {
    "angle_run": "<",
    "title_opens": "<< ",
    "title_closes": "<<>>>",
    "abbreviations": "Mr. ",
    "initials": "J. R. ",
    "sentences": "It is. ",
    "capitals": "WORD ",
    "stars": "*",
    "highlight_opens": "*a ",
    "bullets": "\n* x",
    "dashes": "\n-",
    "newlines": "\n",
    "blank_paragraphs": "\n\n",
    "dividers": " *** ",
    "brackets": "[",
    "placeholders": "[a] ",
    "json_nesting": "[",
    "quotes": '"',
    "commas": "a, ",
    "letters": "a",
    "spaces": " ",
    "special_tokens": "<|im_end|>",
    "postscripts": "P.S. p.p.s ",
    "sections": "SECTION 1 ",
    "mixed_scripts": "Hello мир 世界 مرحبا नमस्ते 😀 ǅ Ⓐ ﬁ\u0301 ",
    "controls": "\x00\x01\u200b\ufeff",
    "regex_hostile": "((((([[[\\\\?*+",
}
#: IFEval-semantics params that are regexes: catastrophic ones.
POISON = {
    "keywords:existence": {"keywords": ["(a|aa)+$"]},
    "keywords:forbidden_words": {"forbidden_words": ["(a|aa)+$", "(x+x+)+y"]},
    "keywords:frequency": {"keyword": "(a|aa)+$", "frequency": 2, "relation": "at least"},
    "detectable_format:multiple_sections": {"section_spliter": "(a|aa)+$", "num_sections": 2},
    "detectable_content:postscript": {"postscript_marker": "(a|aa)+$"},
    "format.json": {"schema": {"type": "array", "items": {"type": "string", "pattern": "^(a|aa)+$"}}},
}


def corpus(sizes: list[int]) -> dict[str, str]:
    texts = {}
    for size in sizes:
        for name, unit in UNITS.items():
            text = (unit * (size // len(unit) + 1))[:size]
            if name == "json_nesting":
                text = "[" * (size // 2) + "]" * (size // 2)
            if name == "letters":
                text = text[:-1] + "!"
            texts[f"{name}@{size}"] = text
        texts[f"string_array@{size}"] = '["' + "a" * (size - 6) + '!"]'
    return texts


def constraints() -> list[tuple[str, Any]]:
    registry = default_registry()
    built = []
    for cls in hard_types():  # the 23 built-in hard types (plugins such as the IFBench pack are not timed here)
        for seed in range(2):
            built.append((cls.id, registry.build(cls.id, cls.sample_params(random.Random(seed)))))
        for alias in getattr(cls, "aliases", ()):
            if alias.name in POISON:
                built.append((alias.name + " (poison)", registry.build(alias.name, POISON[alias.name])))
        if cls.id in POISON:
            built.append((cls.id + " (poison)", registry.build(cls.id, POISON[cls.id])))
    return built


def _clear() -> None:
    for memo in (tx.sentences, tx.count_sentences_upto, tx.count_capital_words):
        memo.cache_clear()  # type: ignore[attr-defined]
    langid._detect_cached.cache_clear()


def _time(judge: Any, constraint: Any, text: str, clock: Any) -> tuple[float, str | None]:
    _clear()
    start = clock()
    try:
        judge(constraint, text)
        error = None
    except Exception as exc:
        error = type(exc).__name__
    return clock() - start, error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall seconds, or this process's CPU seconds (for a machine shared with other load)")
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = corpus(sizes)
    built = constraints()
    for _, constraint in built:  # load the tokenizers and language profiles once
        strict_verdict(constraint, "Warm up, SENTENCE one. Two.")
    worst: dict[tuple[str, str, int], tuple[float, str, str | None]] = {}
    for name, constraint in built:
        type_id = name.split(" ")[0]
        type_id = getattr(constraint, "id", type_id)
        for text_name, text in texts.items():
            size = int(text_name.split("@")[1])
            for mode, judge in (("strict", strict_verdict), ("loose", loose_verdict)):
                took, error = _time(judge, constraint, text, clock)
                key = (type_id, mode, size)
                if key not in worst or took > worst[key][0]:
                    worst[key] = (took, f"{name} on {text_name}", error)
    types = sorted({k[0] for k in worst})
    print(f"python {platform.python_version()}, {len(built)} constraints x {len(texts)} texts x 2 modes, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.clock} seconds")
    print(f"{'type':<34}" + "".join(f"{m + '@' + str(s):>16}" for s in sizes for m in ("strict", "loose")))
    for type_id in types:
        cells = (worst[(type_id, m, s)][0] for s in sizes for m in ("strict", "loose"))
        print(f"{type_id:<34}" + "".join(f"{cell:>16.3f}" for cell in cells))
    top = max(sizes)
    slowest = max(((k, v) for k, v in worst.items() if k[2] == top), key=lambda kv: kv[1][0])
    print(f"worst row at {top:,} chars: {slowest[1][0]:.3f} s ({slowest[0][1]}: {slowest[1][1]}"
          f"{', raised ' + slowest[1][2] if slowest[1][2] else ''}); target < {TARGET_S} s: "
          f"{'met' if slowest[1][0] < TARGET_S else 'NOT met'}")
    over = sorted(((k, v) for k, v in worst.items() if k[2] == top and v[0] >= TARGET_S), key=lambda kv: -kv[1][0])
    for (type_id, mode, _), (took, where, error) in over:
        print(f"  over target: {type_id} {mode} {took:.3f} s ({where}{', ' + error if error else ''})")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(
            {f"{k[0]}|{k[1]}|{k[2]}": {"seconds": v[0], "where": v[1], "error": v[2]} for k, v in worst.items()},
            indent=2))


if __name__ == "__main__":
    main()
