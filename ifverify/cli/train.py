"""``ifverify train --config FILE [--dry-run] [--resume]``: GRPO on the configured backend (trl, openrlhf or verl).

Exit codes: 0 success (or a dry run), 2 a bad config (one line naming the file and the key path),
1 an error in the run (a missing backend package, a failed conversion, a non-zero trainer exit).
``--dry-run`` prints the plan (for openrlhf/verl the conversion target and the shell-quoted command)
and imports neither torch nor trl.  A trl run ends by printing the reward per logged step and per level
with the wall time (also written to ``<output_dir>/train_summary.json``).
``--resume`` (the config's ``trainer.resume: true``; trl only) continues an interrupted run from its
checkpoints in ``trainer.output_dir``; the dry run shows the checkpoint folders and what a resume would do.
"""

from __future__ import annotations

import click


class _RunError(click.ClickException):
    """An error in the run (exit code 1), printed without a traceback."""

    exit_code = 1


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="The YAML config (backend, policy, curriculum, reward, generation, trainer).")
@click.option("--dry-run", is_flag=True, help="Print exactly what would run, and stop.")
@click.option("--resume", is_flag=True,
              help="trl: continue an interrupted run from its checkpoints in trainer.output_dir (as trainer.resume: "
                   "true). Swap mode skips the levels that finished (stage-<i>-<level>/stage.json) and resumes the "
                   "first unfinished one from its latest checkpoint, or from the previous level's weights and "
                   "optimizer state; ordered mode resumes from output_dir's latest checkpoint. Without it, a run "
                   "refuses an output_dir that holds checkpoints.")
def train(config_path: str, dry_run: bool, resume: bool) -> None:
    """Run GRPO with ifverify rewards on the backend named in the config.

    Checkpoints (trl): swap mode saves each level's under <output_dir>/stage-<i>-<level>, ordered mode under
    <output_dir>; --dry-run lists them and says what a resume would do.
    """
    from ifverify.backends.config import ConfigError, load_config
    from ifverify.backends.dispatch import BackendUnavailable, TrlRun, plan, render_summary, run

    try:
        config = load_config(config_path)
        if resume:
            config.trainer["resume"] = True
        the_plan = plan(config)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(the_plan.summary())
    if dry_run:
        return
    try:
        result = run(the_plan)
    except BackendUnavailable as exc:
        raise _RunError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise _RunError(f"{type(exc).__name__}: {exc}") from None
    if isinstance(result, TrlRun):
        click.echo(render_summary(result.summary))
        click.echo(f"wrote {result.summary_path}")
    if isinstance(result, int) and not isinstance(result, bool) and result != 0:
        raise _RunError(f"{the_plan.backend} exited with code {result}")
