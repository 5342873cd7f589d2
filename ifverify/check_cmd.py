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

from ifverify.data.jsonl import LineError, join_responses, read_jsonl, read_responses

_CHUNK = 128
_WORKER_CACHE: Any = None


def _evaluate_chunk(args: tuple[Sequence[tuple[int, dict[str, Any]]], str, bool, str | None]) -> list[dict[str, Any]]:
    """Score one chunk of (line, row) pairs; runs in the main process or a worker.

    With a classifier, every soft pair of the chunk is scored in one batched call first.
    """
    global _WORKER_CACHE
    from ifverify.rewards.evaluate import evaluate_row, soft_pairs
    from ifverify.rewards.rows import ConstraintCache

    rows, mode, detail, classifier_path = args
    if _WORKER_CACHE is None:
        _WORKER_CACHE = ConstraintCache()
    scores: dict[tuple[str, str], float] | None = None
    threshold = 0.5
    if classifier_path:
        from ifverify.learned.scorers import load_scorer, threshold_of

        classifier = load_scorer(classifier_path)
        pairs = soft_pairs((row for _, row in rows), _WORKER_CACHE)
        scores = dict(zip(pairs, classifier.score_pairs(pairs), strict=True))
        threshold = threshold_of(classifier)
    return [evaluate_row(row, _WORKER_CACHE, mode, line=line, detail=detail, soft_scores=scores,
                         threshold=threshold) for line, row in rows]


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


def _load(input_path: str, responses_path: str | None) -> tuple[list[Any], list[LineError]]:
    """Input items in order: (line, row) to score, or a LineError; plus errors from the responses file."""
    responses: dict[str, Any] | None = None
    extra: list[LineError] = []
    if responses_path:
        responses, extra = read_responses(responses_path)
    items: list[Any] = []
    for number, row in read_jsonl(input_path):
        if isinstance(row, dict) and responses is not None and "response" not in row:
            row = join_responses(row, number, responses)
        items.append(row if isinstance(row, LineError) else (number, row))
    return items, extra


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


def _report_errors(records: list[dict[str, Any]], extra: list[LineError], err: IO[str]) -> int:
    count = 0
    for problem in extra:
        click.echo(f"responses {problem}", file=err)
        count += 1
    for record in records:
        if "error" in record:
            click.echo(f"line {record['line']}: {record['error']['field']}: {record['error']['problem']}", file=err)
            count += 1
    return count


def _load_classifier(path: str) -> None:
    """Load the classifier once up front, so a broken one is a one-line error before any scoring."""
    try:
        from ifverify.learned.scorers import load_scorer

        load_scorer(path)
    except Exception as exc:
        raise click.ClickException(f"cannot load --classifier {path}: {exc}") from None


def _write_results(path: str, records: list[dict[str, Any]]) -> None:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise click.ClickException(f"cannot write --results {path}: {exc.strerror or exc}") from None


@click.command()
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option("--responses", "responses_path", metavar="RESPONSES.jsonl",
              type=click.Path(exists=True, dir_okay=False),
              help="IFEval's response file (prompt, response), joined to INPUT by prompt.")
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
def check(input_path: str, responses_path: str | None, mode: str, results_path: str | None, fmt: str,
          workers: int, no_detail: bool, classifier_path: str | None) -> None:
    """Score responses against their constraints, IFEval-compatible.

    INPUT.jsonl rows carry IFEval's prompt, instruction_id_list and kwargs, or the native
    constraints list, and a response (or pass --responses).  Bad lines are reported on stderr as
    `line N: field: problem`, get an error record in the results, and make the exit code 1.
    """
    from ifverify.report import summary_json, summary_text
    from ifverify.rewards.evaluate import summarize

    items, extra = _load(input_path, responses_path)
    progress = sys.stderr.isatty()
    # Reasons cost extra work and only appear in the results file.
    if classifier_path:
        _load_classifier(classifier_path)
    records = _score(items, mode, workers, bool(results_path) and not no_detail, progress, classifier_path)
    if results_path:
        _write_results(results_path, records)
    summary = summarize(records, mode).to_dict()
    errors = _report_errors(records, extra, sys.stderr)
    if fmt == "json":
        click.echo(summary_json(summary))
    else:
        click.echo(summary_text(summary, os.path.basename(input_path), markdown=fmt == "markdown"), nl=False)
    if errors:
        raise click.exceptions.Exit(1)
