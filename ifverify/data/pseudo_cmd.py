"""``ifverify data pseudo-label`` and ``ifverify data validate-labels``: two click commands, no group.

Both follow ``check``: a bad line is reported on stderr as ``line N: field: problem`` and skipped, the
rest is processed, and the exit code is 1 after the report; usage errors exit 2; an unreadable input or
unwritable output is a one-line run error (exit 1), never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import click

from ifverify.data.jsonl import LineError


def _report_errors(errors: Sequence[LineError]) -> None:
    for error in errors:
        click.echo(str(error), err=True)


def _unreadable(path: str, exc: Exception) -> click.ClickException:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return click.ClickException(f"cannot read {path}: {reason}")


@click.command("pseudo-label")
@click.argument("input_path", metavar="IN.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_path", metavar="PAIRS.jsonl", required=True, type=click.Path(dir_okay=False),
              help="Where to write the labelled (constraint, response) pairs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="How to print the report.")
def pseudo_label(input_path: str, out_path: str, fmt: str) -> None:
    """Turn level-k responses into pseudo-labelled pairs for the soft-constraint classifier.

    IN.jsonl holds one response row per (seed, level): id, seed_id, level (0..5), constraints (the
    first `level` specs of the seed), and a response, or an error for a failed generation.  For each
    level k, (o_k, c_k) is a positive and (o_{k-1}, c_k) a negative.  Prints the counts and the class
    balance; bad lines go to stderr as `line N: field: problem` and make the exit code 1.
    """
    from ifverify.data.jsonl import read_jsonl
    from ifverify.data.pseudo import label_items, write_jsonl

    try:
        report = label_items(read_jsonl(input_path))
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(input_path, exc) from None
    try:
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
        write_jsonl(out_path, report.pairs)
    except OSError as exc:
        raise click.ClickException(f"cannot write --out {out_path}: {exc.strerror or exc}") from None
    _report_errors(report.errors)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.to_text(os.path.basename(input_path)), nl=False)
    if report.errors:
        raise click.exceptions.Exit(1)


@click.command("validate-labels")
@click.argument("pairs_path", metavar="PAIRS.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option("--mode", type=click.Choice(["strict", "loose"]), default="strict", show_default=True,
              help="Which checker verdicts the labels are compared with.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="How to print the report.")
def validate_labels(pairs_path: str, mode: str, fmt: str) -> None:
    """Check the pseudo-labels of hard pairs against the deterministic checkers.

    For each constraint type: how often a positive really satisfies its constraint (pos hit), how often
    a negative really violates it (neg hit), and the precision (the share of labels the checker agrees
    with, also reported overall as accuracy).  Soft pairs are counted and skipped.
    """
    from ifverify.data.jsonl import read_jsonl
    from ifverify.data.pseudo import validate_items

    try:
        report = validate_items(read_jsonl(pairs_path), mode=mode)
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(pairs_path, exc) from None
    _report_errors(report.errors)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.to_text(os.path.basename(pairs_path), markdown=fmt == "markdown"), nl=False)
    if report.errors:
        raise click.exceptions.Exit(1)
