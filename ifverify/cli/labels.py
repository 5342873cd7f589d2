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
    a negative really violates it (neg hit), and how often the label agrees with the checker (agree; the
    overall figure is the label-checker agreement).  Soft pairs are counted and skipped.
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


@click.command("import-pairs")
@click.argument("input_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_path", metavar="PAIRS.jsonl", required=True, type=click.Path(dir_okay=False),
              help="Where to write the pairs (ifverify's pair format).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="How to print the report.")
def import_pairs(input_path: str, out_path: str, fmt: str) -> None:
    """Import the paper's released pseudo-label pairs (parquet or JSONL) into ifverify's pair format.

    Each row (prompt, chosen, rejected, constraint, instruction_id_list, kwargs) gives a positive
    (last constraint, chosen) and a negative (last constraint, rejected).  The paper's soft ids map onto
    ifverify's soft types; its IFEval ids onto the hard types, with kwargs cleaned (nulls dropped, integral
    floats made ints).  Bad rows go to stderr as `line N: field: problem` (rows numbered from 1), the rest
    are imported, and the exit code is 1.
    """
    from ifverify.data.paper_pairs import import_file, write_pairs

    try:
        report = import_file(input_path)
    except (OSError, UnicodeDecodeError, ValueError, ImportError) as exc:
        raise _unreadable(input_path, exc) from None
    try:
        write_pairs(out_path, report.pairs)
    except OSError as exc:
        raise click.ClickException(f"cannot write --out {out_path}: {exc.strerror or exc}") from None
    _report_errors(report.errors)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        kinds = report.by_kind()
        click.echo(f"imported {len(report.pairs) // 2} of {report.rows} rows: {len(report.pairs)} pairs "
                   f"({kinds['hard']} hard and {kinds['soft']} soft constraints, one positive and one negative "
                   f"each), {len(report.errors)} error(s); wrote {out_path}")
    if report.errors:
        raise click.exceptions.Exit(1)
