"""``ifverify check``: a drop-in for IFEval's evaluation, strict and loose, with per-constraint detail."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import IO, Any

import click

from ifverify.check_input import (
    Join,
    UnknownIds,
    fallback_note,
    read_join,
    restore_unknown,
    unavailable,
    unknown_error,
    unknown_ids,
    without_unknown,
)
from ifverify.data.jsonl import LineError, read_jsonl

_CHUNK = 128
_WORKER_CACHE: Any = None


def _evaluate_chunk(args: tuple[Sequence[tuple[int, dict[str, Any]]], str, bool, str | None]) -> list[dict[str, Any]]:
    """Score one chunk of (line, row) pairs; runs in the main process or a worker.

    With a classifier, every soft pair of the chunk is scored in one batched call first.
    """
    global _WORKER_CACHE
    from ifverify.rewards.evaluate import soft_queries
    from ifverify.rewards.rows import ConstraintCache

    rows, mode, detail, classifier_path = args
    if _WORKER_CACHE is None:
        _WORKER_CACHE = ConstraintCache()
    scores: dict[tuple[str, str, str | None], float] | None = None
    threshold = 0.5
    if classifier_path:
        from ifverify.learned.scorers import load_scorer, threshold_of

        classifier = load_scorer(classifier_path)
        from ifverify.rewards.soft import score_queries

        queries = soft_queries((row for _, row in rows), _WORKER_CACHE)
        scores = dict(zip(queries, score_queries(classifier, queries), strict=True))
        threshold = threshold_of(classifier)
    return [_evaluate_one(row, line, mode, detail, scores, threshold) for line, row in rows]


def _evaluate_one(row: dict[str, Any], line: int, mode: str, detail: bool,
                  scores: dict[tuple[str, str, str | None], float] | None, threshold: float) -> dict[str, Any]:
    """One row's record; a failure while checking it (a pattern over its time budget, a checker bug)
    is that row's error record, never the end of the run."""
    from ifverify.rewards.evaluate import evaluate_row

    try:
        return evaluate_row(row, _WORKER_CACHE, mode, line=line, detail=detail, soft_scores=scores,
                            threshold=threshold)
    except Exception as exc:
        record = LineError(line, "response", f"could not be checked: {type(exc).__name__}: {exc}")
        return record.with_context(row).record()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def chunk_size(rows: int, workers: int) -> int:
    """Rows per task: about four tasks per worker (so a slow chunk does not leave a worker idle at the
    end), between 16 and ``_CHUNK`` rows; one process takes ``_CHUNK``."""
    if workers <= 1:
        return _CHUNK
    return max(16, min(_CHUNK, -(-rows // (4 * workers))))


def worker_pool(workers: int, *, fork: bool = True) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes that start warm.

    The tokenizers and language profiles are loaded here first; where the platform can fork, the
    workers are forked from this process and share them, instead of each spending a second loading
    its own.  Elsewhere, or with ``fork=False`` (a process that has run torch must not fork: its
    OpenMP threads do not survive it), they are started fresh and load on first use.
    """
    from ifverify.verifiers import warm_up

    if not fork or "fork" not in multiprocessing.get_all_start_methods():
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    warm_up()
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


class _Input:
    """What loading found besides the rows: unknown ids, rows whose unknown ids were taken out, the join."""

    def __init__(self, skip_unknown: bool) -> None:
        self.skip_unknown = skip_unknown
        self.unknown = UnknownIds()
        self.unknown_lines: set[int] = set()
        self.removed: dict[int, list[tuple[int, str]]] = {}
        #: per line, the reason of each taken-out constraint that is known but cannot run here
        self.reasons: dict[int, dict[int, str]] = {}
        self.join: Join | None = None
        #: prompts of input rows that took their response from the responses file
        self.used: set[str] = set()

    def unused_responses(self) -> list[int]:
        """Lines of the responses file whose prompt no input row took (exactly or stripped); a prompt on
        several lines is not among them (each of its lines is already a duplicate-prompt error)."""
        if self.join is None:
            return []
        stripped = {prompt.strip() for prompt in self.used}
        return sorted(line for prompt, found in self.join.exact.items() if len(found) == 1
                      and prompt not in self.used and prompt.strip() not in stripped for line, _ in found)


def _load(input_path: str, responses_path: str | None,
          skip_unknown: bool = False) -> tuple[list[Any], list[LineError], _Input]:
    """Input items in order: (line, row) to score, or a LineError; errors from the responses file; and
    what :class:`_Input` records.  Rows with unknown ids are errors, or with ``skip_unknown`` are scored
    without them (they are put back as unscored by :func:`_restore`)."""
    from ifverify.constraints.registry import default_registry
    from ifverify.rewards.rows import ConstraintCache

    found = _Input(skip_unknown)
    extra: list[LineError] = []
    if responses_path:
        found.join, extra = read_join(responses_path)
    registry = default_registry()
    cache = ConstraintCache(registry)
    items: list[Any] = []
    for number, row in read_jsonl(input_path, blank_errors=True):
        if isinstance(row, dict) and found.join is not None and "response" not in row:
            joined = found.join.join(row, number)
            row = joined.with_context(row) if isinstance(joined, LineError) else joined
            if isinstance(row, dict):
                found.used.add(row["prompt"])
        if isinstance(row, dict):
            unknown = unknown_ids(row, registry)
            found.unknown.add(number, unknown)
            missing = unavailable(row, cache, {i for i, _ in unknown}) if skip_unknown else []
            found.unknown.add_missing(number, missing)
            if skip_unknown and (unknown or missing):
                found.removed[number] = sorted([*unknown, *((i, name) for i, name, _ in missing)])
                found.reasons[number] = {i: why for i, _, why in missing}
                row = without_unknown(row, found.removed[number])
            elif unknown:
                found.unknown_lines.add(number)
                row = unknown_error(number, row, unknown, registry)
        items.append(row if isinstance(row, LineError) else (number, row))
    return items, extra, found


def _restore(records: list[dict[str, Any]], found: _Input, mode: str) -> None:
    from ifverify.rewards.evaluate import modes_of

    for record in records:
        if record.get("line") in found.removed:
            restore_unknown(record, found.removed[record["line"]], modes_of(mode), found.reasons.get(record["line"]))


def _score(items: list[Any], mode: str, workers: int, detail: bool, progress: bool,
           classifier: str | None = None) -> list[dict[str, Any]]:
    todo = [item for item in items if not isinstance(item, LineError)]
    chunks = [(chunk, mode, detail, classifier) for chunk in _chunks(todo, chunk_size(len(todo), workers))]
    scored: list[dict[str, Any]] = []
    bar_file = sys.stderr if progress else open(os.devnull, "w")  # noqa: SIM115
    with click.progressbar(length=len(todo), label="checking", file=bar_file) as bar:
        if workers > 1 and len(chunks) > 1:
            with worker_pool(workers, fork=not classifier) as pool:
                for done in pool.map(_evaluate_chunk, chunks):
                    scored.extend(done)
                    bar.update(len(done))
        else:
            for chunk in chunks:
                done = _evaluate_chunk(chunk)
                scored.extend(done)
                bar.update(len(done))
    if not progress:
        bar_file.close()
    by_line = iter(scored)
    return [item.record() if isinstance(item, LineError) else next(by_line) for item in items]


def _soft_only(summary: dict[str, Any], unknown: int) -> dict[str, Any]:
    """The summary as the text report reads it: its unscored note is about soft constraints only."""
    soft = summary.get("unscored", 0) - unknown
    out = {k: v for k, v in summary.items() if k not in ("unscored", "unknown_unscored")}
    return {**out, "unscored": soft} if soft else out


def _report_errors(records: list[dict[str, Any]], extra: list[LineError], err: IO[str],
                   found: _Input | None = None) -> int:
    """Print the errors on ``err`` and count them: the responses file's first, then the input's in line
    order, where an unknown id is one line (placed at its first line) for all the rows holding it.
    Unknown ids skipped with ``--skip-unknown`` are reported but are not errors."""
    count = 0
    if found is not None and found.join is not None and found.join.fallback_lines:
        click.echo(fallback_note(found.join.fallback_lines), file=err)
    unused = found.unused_responses() if found is not None else []
    if unused:
        shown = ", ".join(map(str, unused[:10])) + (", ..." if len(unused) > 10 else "")
        click.echo(f"note: {len(unused)} response(s) matched no input prompt (responses line(s) {shown})", file=err)
    for problem in extra:
        click.echo(f"responses {problem}", file=err)
        count += 1
    lines: list[tuple[int, str]] = []
    unknown_lines: set[int] = set()
    if found is not None and (found.unknown.seen or found.unknown.missing):
        from ifverify.constraints.registry import default_registry

        lines += found.unknown.lines(default_registry(), found.skip_unknown)
        unknown_lines = found.unknown_lines
        count += len(unknown_lines)
    for record in records:
        if "error" in record and record["line"] not in unknown_lines:
            lines.append((record["line"], f"line {record['line']}: {record['error']['field']}: "
                                          f"{record['error']['problem']}"))
            count += 1
    for _, text in sorted(lines, key=lambda item: item[0]):
        click.echo(text, file=err)
    return count


def _load_classifier(path: str) -> None:
    """Load the classifier once up front, so a broken one is a one-line error before any scoring."""
    try:
        from ifverify.learned.scorers import load_scorer

        load_scorer(path)
    except Exception as exc:
        raise click.ClickException(f"cannot load --classifier {path}: {exc}") from None


def _results_writable(path: str) -> None:
    """Fail before any scoring when the results file cannot be created (the run would be lost)."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise click.ClickException(f"cannot write --results {path}: {exc.strerror or exc}") from None


def _result_line(record: dict[str, Any]) -> bytes:
    """One record as a UTF-8 JSON line; text UTF-8 cannot hold (a lone surrogate from a ``"\\ud800"``
    escape) is written as JSON escapes instead."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record).encode("ascii") + b"\n"


def _write_results(path: str, records: list[dict[str, Any]]) -> None:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as out:
            for record in records:
                out.write(_result_line(record))
    except OSError as exc:
        raise click.ClickException(f"cannot write --results {path}: {exc.strerror or exc}") from None


@click.command()
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option("--responses", "responses_path", metavar="RESPONSES.jsonl",
              type=click.Path(exists=True, dir_okay=False),
              help="IFEval's response file (prompt, response), joined to INPUT by prompt (falling back to "
                   "whitespace-stripped prompts, as IFBench does).")
@click.option("--skip-unknown", is_flag=True,
              help="Score the known constraints of rows that also hold unknown ids, or constraints that cannot "
                   "run here (missing data); those are marked unscored in the results and the summary.")
@click.option("--mode", type=click.Choice(["strict", "loose", "both"]), default="both", show_default=True)
@click.option("--results", "results_path", metavar="OUT.jsonl", type=click.Path(dir_okay=False, writable=True),
              help="Write one result line per input line, in input order.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="How to print the summary.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes to spread a large file over.")
@click.option("--no-detail", is_flag=True, help="Leave per-constraint reasons out of the results.")
@click.option("--classifier", "classifier_path", metavar="SPEC",
              help="Soft-constraint scorer: 'default' (the packaged soft verifier), a saved classifier folder "
                   "(ifverify rm train), or 'judge:<url>' (an LLM judge); soft constraints need one.")
def check(input_path: str, responses_path: str | None, skip_unknown: bool, mode: str, results_path: str | None,
          fmt: str, workers: int, no_detail: bool, classifier_path: str | None) -> None:
    """Score responses against their constraints, IFEval-compatible.

    INPUT.jsonl rows carry IFEval's prompt, instruction_id_list and kwargs, or the native
    constraints list, and a response (or pass --responses).  Bad lines are reported on stderr as
    `line N: field: problem`, get an error record in the results, and make the exit code 1.
    """
    from ifverify.report import summary_json, summary_text
    from ifverify.rewards.evaluate import summarize

    if results_path:
        _results_writable(results_path)
    items, extra, found = _load(input_path, responses_path, skip_unknown)
    progress = sys.stderr.isatty()
    # Reasons cost extra work and only appear in the results file.
    if classifier_path:
        _load_classifier(classifier_path)
    records = _score(items, mode, workers, bool(results_path) and not no_detail, progress, classifier_path)
    _restore(records, found, mode)
    if results_path:
        _write_results(results_path, records)
    summary = summarize(records, mode).to_dict()
    unknown = sum(len(v) for v in found.removed.values())
    if unknown:
        summary["unknown_unscored"] = unknown
    errors = _report_errors(records, extra, sys.stderr, found)
    if fmt == "json":
        click.echo(summary_json(summary))
    else:
        click.echo(summary_text(_soft_only(summary, unknown), os.path.basename(input_path),
                                markdown=fmt == "markdown"), nl=False)
        if unknown:
            click.echo(f"{unknown} constraint(s) with an unknown id unscored, left out of the accuracies "
                       "(--skip-unknown)")
    if errors:
        raise click.exceptions.Exit(1)
