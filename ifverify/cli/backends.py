"""``ifverify openrlhf``: the OpenRLHF reward-function file.

Exit codes: 0 success, 1 an error writing the file, 2 a usage error.  Nothing heavy is imported.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click


@click.group("openrlhf")
def openrlhf() -> None:
    """OpenRLHF (0.11.2) integration: the reward file for --reward.remote_url."""


@openrlhf.command("reward-file")
@click.option("--write", "write", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Copy the reward file to this path (prints the path written).")
def reward_file(write: str | None) -> None:
    """Print the path of ifverify's reward file for OpenRLHF's --reward.remote_url, or copy it with --write.

    The file needs ifverify installed where OpenRLHF runs; configure it with IFVERIFY_AGGREGATION,
    IFVERIFY_MODE, IFVERIFY_WEIGHTS and IFVERIFY_CLASSIFIER.
    """
    from ifverify.backends.openrlhf import reward_file_path

    source = reward_file_path()
    if write is None:
        click.echo(str(source))
        return
    target = Path(write)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc}") from None
    click.echo(str(target.resolve()))
