"""NLTK's Punkt and word tokenizers vs ifverify's own (``ifverify.verifiers.tokenize``), same answers.

Run: python benchmarks/bench_tokenize.py [--repeats 5] [--json OUT]

Figures, all on this machine in one run (best of ``--repeats`` passes, tokenizers already built):
* sentences: every sentence span of the 541 IFEval GPT-4 responses;
* sentences, first 5: the spans a "fewer than / at least 5 sentences" check reads (it stops there);
* words: ``word_tokenize`` of the 541 responses;
* capital words: the all-capital tokens of the 541 responses, by NLTK's tokens, by ours, and by
  ``text.count_capital_words`` (which skips sentences that cannot hold one), per-text memos cleared;
* the same on the 1 MB prose text of ``bench_adversarial.py`` (one pass each);
* start-up (import included): a fresh process that imports the length and case families and counts
  the sentences and capital words of one short text, with NLTK's tokenizers as ``text.py`` built them
  before, and with ours; and ``import nltk`` alone.  Median of ``--repeats`` processes.
Each pair is also checked to give the same answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "verifiers")]

from test_contract import adversarial_texts  # noqa: E402
from test_tokenize import nltk_tokenizers  # noqa: E402

from ifverify.verifiers import text as tx  # noqa: E402
from ifverify.verifiers import tokenize as tk  # noqa: E402

RESPONSES = REPO / "third_party" / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl"

_START_UP = """
import sys, time
start = time.perf_counter()
import ifverify.verifiers.case, ifverify.verifiers.length
from ifverify.verifiers import text as tx
{setup}
sample = "Dr. Smith went home. HE WAS TIRED! Was he? Yes."
{use}
print(time.perf_counter() - start, "nltk" in sys.modules)
"""
_OLD_SETUP = """
import punkt
from nltk.tokenize.destructive import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
model = punkt.load_model("english")
params = PunktParameters()
params.abbrev_types, params.collocations = set(model.abbrev_types), set(model.collocations)
params.sent_starters = set(model.sent_starters)
params.ortho_context.update(model.ortho_context)
sentencer, worder = PunktSentenceTokenizer(params), NLTKWordTokenizer()
"""
_OLD_USE = ("len(list(sentencer.span_tokenize(sample))), "
            "sum(t.isupper() for s in sentencer.tokenize(sample) for t in worder.tokenize(s))")
_NEW_USE = "tx.count_sentences_upto(sample, 10), tx.count_capital_words(sample)"


def best(call: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The fastest of ``repeats`` timed calls, and the call's result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def start_up(setup: str, use: str, repeats: int) -> tuple[float, bool]:
    """Median seconds of a fresh process importing, building and using the tokenizers; whether it
    imported nltk."""
    runs = [subprocess.run([sys.executable, "-c", _START_UP.format(setup=setup, use=use)], capture_output=True,
                           text=True, check=True, cwd=REPO).stdout.split() for _ in range(repeats)]
    return statistics.median(float(seconds) for seconds, _ in runs), runs[0][1] == "True"


def clear_memos() -> None:
    for memo in (tx.sentences, tx.count_sentences_upto, tx.count_capital_words):
        memo.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    responses = [json.loads(line)["response"] for line in RESPONSES.read_text(encoding="utf-8").splitlines()]
    prose = adversarial_texts()["one_mb"]
    sentencer, worder = nltk_tokenizers()
    tk.warm_up()

    def nltk_words(text: str) -> list[str]:
        return [token for sentence in sentencer.tokenize(text) for token in worder.tokenize(sentence)]

    def ours_capitals() -> int:
        clear_memos()
        return sum(tx.count_capital_words(text) for text in responses)

    rows: list[tuple[str, Callable[[], Any], Callable[[], Any], int]] = [
        ("sentences, 541 responses", lambda: [len(list(sentencer.span_tokenize(t))) for t in responses],
         lambda: [len(list(tk.sentence_spans(t))) for t in responses], args.repeats),
        ("sentences, first 5, 541 responses", lambda: [len(list(islice(sentencer.span_tokenize(t), 5)))
                                                     for t in responses],
         lambda: [len(list(islice(tk.sentence_spans(t), 5))) for t in responses], args.repeats),
        ("words, 541 responses", lambda: [nltk_words(t) for t in responses],
         lambda: [tk.word_tokens(t) for t in responses], args.repeats),
        ("capital words, 541 responses", lambda: sum(w.isupper() for t in responses for w in nltk_words(t)),
         lambda: sum(w.isupper() for t in responses for w in tk.word_tokens(t)), args.repeats),
        ("  text.count_capital_words", lambda: sum(w.isupper() for t in responses for w in nltk_words(t)),
         ours_capitals, args.repeats),
        ("sentences, 1 MB prose", lambda: len(list(sentencer.span_tokenize(prose))),
         lambda: len(list(tk.sentence_spans(prose))), 1),
        ("words, 1 MB prose", lambda: nltk_words(prose), lambda: tk.word_tokens(prose), 1),
    ]
    report: dict[str, Any] = {"machine": f"{sys.platform}, Python {sys.version.split()[0]}"}
    print(f"{'task':<36} {'NLTK s':>9} {'ours s':>9} {'speed-up':>9}")
    for name, theirs, ours, repeats in rows:
        nltk_seconds, expected = best(theirs, repeats)
        our_seconds, got = best(ours, repeats)
        assert got == expected, name
        report[name.strip()] = {"nltk_s": nltk_seconds, "ours_s": our_seconds}
        print(f"{name:<36} {nltk_seconds:>9.4f} {our_seconds:>9.4f} {nltk_seconds / our_seconds:>8.1f}x")

    old, old_imports = start_up(_OLD_SETUP, _OLD_USE, args.repeats)
    new, new_imports = start_up("", _NEW_USE, args.repeats)
    bare, _ = start_up("import nltk", "", args.repeats)
    report["start_up"] = {"nltk_tokenizers_s": old, "ours_s": new, "import_nltk_s": bare,
                          "ours_imports_nltk": new_imports}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    print(f"{'start-up: import, build, first use':<36} {old:>9.4f} {new:>9.4f} {old / new:>8.1f}x\n"
          f"  (families + import nltk alone: {bare:.3f} s; ours imports nltk: {new_imports}; "
          f"the old route does: {old_imports})")


if __name__ == "__main__":
    main()
