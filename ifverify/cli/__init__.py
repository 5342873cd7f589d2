"""The ``ifverify`` command line.

Exit codes: 0 success, 1 an error in the run (including bad input lines in ``check``), 2 a usage
error.  Tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ifverify import __version__


class RunError(click.ClickException):
    """An error in the run (exit code 1), printed without a traceback."""

    exit_code = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ifverify")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Instruction-following rewards: check responses against the constraints in their instructions."""
    ctx.obj = {"debug": debug}


def _registry() -> Any:
    from ifverify.constraints.registry import default_registry

    return default_registry()


@cli.command("list")
@click.option("--kind", type=click.Choice(["hard", "soft"]), help="Only hard or only soft types.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of the types.")
@click.option("--markdown", is_flag=True, help="The catalogue page in markdown (docs/constraints.md).")
@click.option("--origin", metavar="NAME",
              help="Only the types of one origin: 'built-in', or a plugin's distribution (e.g. ifverify-ifbench).")
def list_cmd(kind: str | None, as_json: bool, markdown: bool, origin: str | None) -> None:
    """List the registered constraint types."""
    from ifverify.report import catalogue_entry, catalogue_markdown

    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    registry = _registry()
    entries = [catalogue_entry(c, registry.origin.get(c.id, "")) for c in registry
               if kind in (None, c.kind) and _from_origin(origin, registry.origin.get(c.id, ""))]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
    elif markdown:
        click.echo(catalogue_markdown(entries), nl=False)
    else:
        width = max((len(e["id"]) for e in entries), default=10)
        for e in entries:
            aliases = f"  [{', '.join(e['aliases'])}]" if e["aliases"] else ""
            click.echo(f"{e['id']:<{width}}  {e['kind']:<4}  {e['description']}{aliases}")


def _from_origin(wanted: str | None, origin: str) -> bool:
    """Whether a type registered with ``origin`` ("" for built-ins, "<distribution>:<entry point>" for a
    plugin) is one ``--origin wanted`` asks for."""
    if wanted is None:
        return True
    if wanted == "built-in":
        return not origin
    return origin == wanted or origin.rpartition(":")[0] == wanted


@cli.command()
@click.argument("constraint_id")
def describe(constraint_id: str) -> None:
    """Describe one constraint type (by id or alias): params schema, aliases, templates."""
    from ifverify.constraints.base import UnknownConstraintError
    from ifverify.report import describe_text

    registry = _registry()
    try:
        cls = registry.get(constraint_id)
    except UnknownConstraintError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(describe_text(cls, registry.origin.get(cls.id, "")), nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def plugins(as_json: bool) -> None:
    """List installed constraint plugins (entry-point group ifverify.constraints) and the ids they add."""
    from ifverify.constraints.plugins import plugin_report

    report = plugin_report(_registry())
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    if not report:
        click.echo("no plugins installed (entry-point group 'ifverify.constraints')")
    for item in report:
        where = f"{item['distribution']} {item.get('version') or ''}".strip()
        if item.get("error"):
            click.echo(f"{item['entry_point']} ({where}): FAILED: {item['error']}")
        else:
            click.echo(f"{item['entry_point']} ({where}): {', '.join(item['ids'])}")


def _add_commands() -> None:
    from ifverify.cli.backends import openrlhf
    from ifverify.cli.check import check
    from ifverify.cli.data import data
    from ifverify.cli.labels import import_pairs, pseudo_label, validate_labels
    from ifverify.cli.rm import rm
    from ifverify.cli.serve import serve
    from ifverify.cli.train import train
    from ifverify.learned.judge_server import serve_judge

    cli.add_command(check)
    cli.add_command(rm)
    cli.add_command(train)
    cli.add_command(openrlhf)
    cli.add_command(serve)
    cli.add_command(serve_judge)
    data.add_command(pseudo_label)
    data.add_command(validate_labels)
    data.add_command(import_pairs)
    cli.add_command(data)


_add_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; without --debug, unexpected errors print one line and exit 1."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = cli.main(args=args, prog_name="ifverify", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if "--debug" in args:
            raise
        click.echo(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)
    sys.exit(0)
