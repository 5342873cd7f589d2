"""``ifverify data``: build the incremental curriculum, generate responses to it, label pairs with a judge.

Exit codes: 0 success; 1 an error in the run (bad seed or input lines, failed rows, an interruption);
2 a usage error.  Errors are one line, without a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click


class _RunError(click.ClickException):
    exit_code = 1


@click.group()
def data() -> None:
    """Build training data: the L1..L5 curriculum, responses to it, pseudo-labels."""


@data.command()
@click.option("--seeds", "seeds_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False),
              help="JSONL of seed instructions (instruction or prompt, optional seed_id). "
                   "Default: the 300 bundled seeds.")
@click.option("--out", "out_path", metavar="OUT.jsonl", required=True, type=click.Path(dir_okay=False))
@click.option("--n-constraints", type=click.IntRange(min=1), default=5, show_default=True,
              help="Constraints per instruction, hence levels per seed.")
@click.option("--soft-ratio", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="Expected share of soft constraints.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N seeds.")
def curriculum(seeds_path: str | None, out_path: str, n_constraints: int, soft_ratio: float, seed: int,
               limit: int | None) -> None:
    """Write curriculum rows: for each seed, levels L1..Ln keeping the first k of n sampled constraints.

    Rows are level-major (every L1, then every L2, ...).  Bad seed lines are reported on stderr as
    `line N: field: problem` and skipped; the other seeds are still written, and the exit code is 1.
    """
    from ifverify.constraints.registry import default_registry
    from ifverify.data.curriculum import build_curriculum, bundled_seeds_path, read_seeds, write_rows

    registry = default_registry()
    if soft_ratio > 0 and not registry.ids("soft"):
        raise click.BadParameter("no soft constraint types are registered; use --soft-ratio 0",
                                 param_hint="--soft-ratio")
    try:
        seeds, errors = read_seeds(seeds_path or bundled_seeds_path())
    except OSError as exc:
        raise _RunError(f"cannot read --seeds {seeds_path}: {exc.strerror or exc}") from None
    seeds = seeds[:limit] if limit else seeds
    try:
        rows = build_curriculum(seeds, n_constraints=n_constraints, soft_ratio=soft_ratio, seed=seed,
                                registry=registry)
    except ValueError as exc:
        raise _RunError(str(exc)) from None
    try:
        _makedirs_for(out_path)
        write_rows(rows, out_path)
    except OSError as exc:
        raise _RunError(f"cannot write --out {out_path}: {exc.strerror or exc}") from None
    for error in errors:
        click.echo(str(error), err=True)
    kinds = [spec.get("text") is None for row in rows if row["level"] == n_constraints for spec in row["constraints"]]
    click.echo(f"wrote {len(rows)} rows ({len(seeds)} seeds x {n_constraints} levels; "
               f"{sum(kinds)} hard and {len(kinds) - sum(kinds)} soft constraints) to {out_path}")
    if errors:
        raise click.exceptions.Exit(1)


@data.command()
@click.argument("in_path", metavar="IN.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_path", metavar="OUT.jsonl", required=True, type=click.Path(dir_okay=False),
              help="Responses; an existing file is resumed (answered ids are skipped).")
@click.option("--backend", type=click.Choice(["local", "openai"]), default="local", show_default=True)
@click.option("--model", metavar="PATH_OR_NAME",
              help="local: a model folder or .gguf file (default: the packaged SmolLM2-135M-Instruct); "
                   "openai: the served model name (required).")
@click.option("--base-url", metavar="URL", help="openai: the server, e.g. http://127.0.0.1:8000/v1 (required).")
@click.option("--api-key-env", metavar="VAR", help="openai: the environment variable holding the API key.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--temperature", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="0 is greedy.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed (temperature > 0).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="local: prompts per batch.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="openai: requests in flight.")
@click.option("--timeout", type=click.FloatRange(min=0.0, min_open=True), default=60.0, show_default=True,
              help="openai: seconds per request.")
@click.option("--retries", type=click.IntRange(min=0), default=4, show_default=True,
              help="openai: extra attempts on connection errors, timeouts, 429 and 5xx.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="local: torch threads (1 leaves cores to other work).")
@click.option("--no-l0", is_flag=True, help="Do not also answer each bare seed as a level-0 row.")
def generate(in_path: str, out_path: str, backend: str, model: str | None, base_url: str | None,
             api_key_env: str | None, max_new_tokens: int, temperature: float, seed: int, batch_size: int,
             concurrency: int, timeout: float, retries: int, threads: int, no_l0: bool) -> None:
    """Answer every row of IN.jsonl (curriculum rows, or any rows with id and prompt) into OUT.jsonl.

    Rerunning the same command resumes: rows already answered are skipped, failed rows are retried.
    Failed rows are kept in OUT with an `error` field and listed on stderr; the exit code is then 1.
    """
    from ifverify.data.generate import generate_file

    generator = _generator(backend, model, base_url, api_key_env, max_new_tokens=max_new_tokens,
                           temperature=temperature, seed=seed, batch_size=batch_size, concurrency=concurrency,
                           timeout=timeout, retries=retries, threads=threads)
    try:
        _makedirs_for(out_path)
        summary = generate_file(in_path, out_path, generator, with_l0=not no_l0, progress=True, log=sys.stderr)
    except KeyboardInterrupt:
        raise _RunError(f"interrupted; finished rows are in {out_path}: rerun the same command to resume") from None
    except OSError as exc:
        raise _RunError(f"{exc.filename or out_path}: {exc.strerror or exc}") from None
    if not summary.ok:
        raise click.exceptions.Exit(1)


@data.command("judge-label")
@click.argument("pairs_path", metavar="PAIRS.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option("--judge", "spec", metavar="SPEC", required=True,
              help="judge:<base_url>[?model=<name>&concurrency=N&timeout=S&retries=N&api_key_env=VAR]")
@click.option("--out", "out_path", metavar="OUT.jsonl", required=True, type=click.Path(dir_okay=False),
              help="Judged pairs; an existing file is resumed (pairs judged by the same judge are reused).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="P(yes) at or above which the judge's label is 1.")
@click.option("--drop-failed", is_flag=True, help="Leave pairs the judge failed on out of OUT (they are "
              "still listed on stderr); by default they are kept as error rows without a label.")
def judge_label(pairs_path: str, spec: str, out_path: str, threshold: float, drop_failed: bool) -> None:
    """Label pairs with an LLM judge, to distill it into the classifier (`ifverify rm train OUT`).

    Each row of PAIRS.jsonl (constraint_text, response, label, ...) is written to OUT with `label` set to
    the judge's verdict, `judge_p` its P(yes) and `pseudo_label` the original label.  Rerunning the same
    command resumes and retries failed pairs.  Bad lines and failed pairs are listed on stderr as
    `line N: ...`, and the exit code is then 1.
    """
    from ifverify.data.judge_label import judge_label_file
    from ifverify.learned.judge import judge_from_spec

    try:
        scorer = judge_from_spec(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--judge") from None
    try:
        _makedirs_for(out_path)
        summary = judge_label_file(pairs_path, out_path, scorer, threshold=threshold, drop_failed=drop_failed,
                                   log=sys.stderr)
    except KeyboardInterrupt:
        raise _RunError(f"interrupted; judged pairs are in {out_path}: rerun the same command to resume") from None
    except RuntimeError as exc:
        raise _RunError(f"cannot use the judge {spec}: {exc}") from None
    except OSError as exc:
        raise _RunError(f"{exc.filename or out_path}: {exc.strerror or exc}") from None
    if not summary.ok:
        raise click.exceptions.Exit(1)


def _generator(backend: str, model: str | None, base_url: str | None, api_key_env: str | None,
               **options: Any) -> Any:
    """The generator the options describe; usage errors exit 2, loading errors exit 1."""
    if backend == "openai":
        from ifverify.data.openai_chat import OpenAIChatGenerator

        if not base_url:
            raise click.UsageError("--backend openai needs --base-url")
        if not model:
            raise click.UsageError("--backend openai needs --model (the served model name)")
        api_key = None
        if api_key_env:
            api_key = os.environ.get(api_key_env)
            if not api_key:
                raise click.BadParameter(f"environment variable {api_key_env} is not set", param_hint="--api-key-env")
        try:
            return OpenAIChatGenerator(base_url, model, api_key=api_key, max_new_tokens=options["max_new_tokens"],
                                       temperature=options["temperature"], seed=options["seed"],
                                       concurrency=options["concurrency"], timeout=options["timeout"],
                                       retries=options["retries"])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--base-url") from None
    from ifverify.data.generate import LocalGenerator
    from ifverify.models import MissingDependencyError

    if base_url or api_key_env:
        raise click.UsageError("--base-url and --api-key-env apply to --backend openai only")
    if model is not None and not os.path.exists(model):
        raise click.BadParameter(f"{model}: no such local folder or .gguf file (nothing is downloaded)",
                                 param_hint="--model")
    if sys.stderr.isatty():
        click.echo(f"loading {model or 'the packaged SmolLM2-135M-Instruct'} ...", err=True)
    try:
        return LocalGenerator(model, max_new_tokens=options["max_new_tokens"], temperature=options["temperature"],
                              batch_size=options["batch_size"], threads=options["threads"], seed=options["seed"])
    except MissingDependencyError as exc:
        raise _RunError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise _RunError(f"cannot load the model {model or '(packaged SmolLM2)'}: {exc}") from None


def _makedirs_for(path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
