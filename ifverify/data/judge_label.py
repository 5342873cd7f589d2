"""Label (constraint, response) pairs with an LLM judge, to distill it into the fast classifier.

:func:`judge_label_file` reads pair JSONL (the rows ``ifverify data pseudo-label`` writes, or any rows
with string ``constraint_text`` and ``response``) and writes, in input order, one row per input row:

- judged: the input row with ``label`` = 1 when the judge's P(yes) >= ``threshold`` else 0, ``judge_p``
  (that probability), ``pseudo_label`` (the input ``label``; kept as it was when the input already has a
  ``pseudo_label``, so judging a judged file does not lose the original), and ``judge`` (url and model);
- failed: the input row without ``label``, with ``pseudo_label`` and ``error`` (kind, message, attempts).
  ``ifverify rm train`` refuses such rows (they have no label): rerun to retry them, or pass ``drop_failed``
  to leave them out of the output.

Resumable: a row whose (constraint_text, response) already has a verdict in the output *from the same
judge* (url and model) reuses it; every other row is asked again, failed ones included.  Each verdict is
appended and flushed as it comes, so an interruption loses only the requests in flight; at the end the
output is rewritten atomically in input order.  The judge is deterministic (temperature 0), so a verdict
depends only on the pair.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click

from ifverify.data.curriculum import dump_row
from ifverify.data.generate import NullSink, ends_with_newline
from ifverify.data.generator_base import Failure
from ifverify.data.jsonl import LineError, read_jsonl_lines

#: Keys an output row adds; dropped from an input row before it is judged again.
RESULT_KEYS = ("judge_p", "judge", "error")


@dataclass
class JudgeLabelSummary:
    """What one :func:`judge_label_file` run did; ``agreements``/``compared`` count judged rows whose input
    label was 0/1 and the judge's label equals it."""

    judged: int = 0
    reused: int = 0
    failed: int = 0
    agreements: int = 0
    compared: int = 0
    positives: int = 0
    input_errors: list[LineError] = field(default_factory=list)
    failures: list[tuple[int, Failure]] = field(default_factory=list)
    unreadable_output_lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.input_errors


def read_pair_rows(path: str | Path) -> tuple[list[tuple[int, dict[str, Any]]], list[LineError]]:
    """(line number, row) for rows with string ``constraint_text`` and ``response``; other lines are errors.
    A row that is already a judge-label output is turned back into its input (``pseudo_label`` restored as
    ``label``, result keys dropped)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[LineError] = []
    for number, row in read_jsonl_lines(path):
        if isinstance(row, LineError):
            errors.append(row)
            continue
        bad = next((name for name in ("constraint_text", "response") if not isinstance(row.get(name), str)), None)
        if bad:
            errors.append(LineError(number, bad, "missing or not a string"))
            continue
        clean = {k: v for k, v in row.items() if k not in RESULT_KEYS}
        if "pseudo_label" in clean:
            clean["label"] = clean.pop("pseudo_label")
        rows.append((number, clean))
    return rows, errors


def _previous(path: Path, judge: Mapping[str, Any]) -> tuple[dict[tuple[str, str], float], int]:
    """Verdicts (P(yes)) already in an earlier output from the same judge, by pair; unreadable line count."""
    found: dict[tuple[str, str], float] = {}
    unreadable = 0
    if not path.exists():
        return found, unreadable
    for _, row in read_jsonl_lines(path):
        if isinstance(row, LineError):
            unreadable += 1
        elif row.get("judge") == judge and isinstance(row.get("judge_p"), int | float) \
                and isinstance(row.get("constraint_text"), str) and isinstance(row.get("response"), str):
            found[(row["constraint_text"], row["response"])] = float(row["judge_p"])
    return found, unreadable


def labelled(row: Mapping[str, Any], result: float | Failure, judge: Mapping[str, Any],
             threshold: float) -> dict[str, Any]:
    """The output row for an input row and its verdict (rules in the module docstring)."""
    out = {k: v for k, v in row.items() if k != "label"}
    out["pseudo_label"] = row.get("label")
    if isinstance(result, Failure):
        out["error"] = result.to_dict()
        return out
    out["label"] = int(result >= threshold)
    out["judge_p"] = result
    out["judge"] = dict(judge)
    return out


def judge_label_file(in_path: str | Path, out_path: str | Path, scorer: Any, *, threshold: float | None = None,
                     drop_failed: bool = False, progress: bool = True,
                     log: IO[str] | None = None) -> JudgeLabelSummary:
    """Judge every pair of ``in_path`` into ``out_path`` with a :class:`ifverify.learned.judge.JudgeScorer`
    (resumable; rules in the module docstring).  Raises ``RuntimeError`` when the judge's model cannot be
    resolved (nothing to do without it)."""
    out_path = Path(out_path)
    log = log if log is not None else sys.stderr
    threshold = float(scorer.threshold if threshold is None else threshold)
    model = scorer.resolve_model()
    if isinstance(model, Failure):
        raise RuntimeError(f"{model.kind}: {model.message}")
    judge = scorer.metadata()
    rows, input_errors = read_pair_rows(in_path)
    known, unreadable = _previous(out_path, judge)
    summary = JudgeLabelSummary(input_errors=input_errors, unreadable_output_lines=unreadable)
    results: dict[int, float | Failure] = {}
    todo: list[int] = []
    for index, (_, row) in enumerate(rows):
        key = (row["constraint_text"], row["response"])
        if key in known:
            results[index] = known[key]
        else:
            todo.append(index)
    summary.reused = len(results)
    show = progress and sys.stderr.isatty()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    needs_newline = not ends_with_newline(out_path)
    bar_file: Any = sys.stderr if show else NullSink()
    with open(out_path, "a", encoding="utf-8", newline="\n") as out, \
            click.progressbar(length=len(todo), label="judging", file=bar_file) as bar:
        if needs_newline:
            out.write("\n")

        def record(number: int, result: float | Failure) -> None:
            index = todo[number]
            results[index] = result
            out.write(dump_row(labelled(rows[index][1], result, judge, threshold)) + "\n")
            out.flush()
            bar.update(1)

        scorer.judge_pairs([(rows[i][1]["constraint_text"], rows[i][1]["response"]) for i in todo], on_result=record)
    final = [labelled(row, results[index], judge, threshold) for index, (_, row) in enumerate(rows)]
    _tally(summary, rows, results, final, set(todo))
    _rewrite(out_path, [row for row in final if not (drop_failed and "error" in row)])
    report(summary, log, [number for number, _ in rows])
    return summary


def _tally(summary: JudgeLabelSummary, rows: Sequence[tuple[int, dict[str, Any]]],
           results: Mapping[int, float | Failure], final: Sequence[dict[str, Any]], asked: set[int]) -> None:
    for index, row in enumerate(final):
        result = results[index]
        if isinstance(result, Failure):
            summary.failed += 1
            summary.failures.append((index, result))
            continue
        summary.judged += index in asked
        summary.positives += row["label"]
        original = rows[index][1].get("label")
        if original in (0, 1):  # True and False count too
            summary.compared += 1
            summary.agreements += int(original) == row["label"]


def _rewrite(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(dump_row(row) + "\n")
    os.replace(temporary, path)


def report(summary: JudgeLabelSummary, log: IO[str], lines: Sequence[int]) -> None:
    """Print input errors, each failure (``line N: kind: message (n attempts)``) and the summary lines."""
    for error in summary.input_errors:
        click.echo(str(error), file=log)
    for index, failure in summary.failures:
        click.echo(f"line {lines[index]}: {failure.kind}: {failure.message} ({failure.attempts} attempt(s))",
                   file=log)
    if summary.unreadable_output_lines:
        click.echo(f"ignored {summary.unreadable_output_lines} unreadable line(s) of the earlier output "
                   "(an interrupted write)", file=log)
    click.echo(f"judged {summary.judged}, reused {summary.reused} (already judged), failed {summary.failed}, "
               f"bad input lines {len(summary.input_errors)}", file=log)
    total = summary.judged + summary.reused
    if total:
        agreement = (f"{summary.agreements}/{summary.compared} ({summary.agreements / summary.compared:.1%})"
                     if summary.compared else "no 0/1 input labels")
        click.echo(f"judge labels: {summary.positives} positive of {total} ({summary.positives / total:.1%}); "
                   f"agreement with the input labels: {agreement}", file=log)
