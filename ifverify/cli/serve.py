"""``ifverify serve``: the reward server's command line (the server itself loads only when it runs)."""

from __future__ import annotations

import json
import os

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any).")
@click.option("--aggregation", default="mean", show_default=True,
              type=click.Choice(["mean", "all", "weighted"]), help="How a sample's constraint scores combine.")
@click.option("--weights", default=None, help="For --aggregation weighted: a JSON object of weights.")
@click.option("--mode", default="strict", show_default=True, type=click.Choice(["strict", "loose"]),
              help="Strict or loose verdicts for hard constraints.")
@click.option("--classifier", default=None, metavar="SPEC",
              help="Soft-constraint scorer: 'default' (the packaged soft verifier), a saved classifier folder, "
                   "or 'judge:<url>' (an LLM judge).")
@click.option("--token-env", default=None, metavar="VAR",
              help="Require 'Authorization: Bearer <token>', the token read from this environment variable.")
@click.option("--max-body", default=1_000_000, show_default=True, type=click.IntRange(1), metavar="BYTES",
              help="The largest request body accepted.")
@click.option("--batch-window-ms", default=5.0, show_default=True, type=click.FloatRange(0),
              help="How long to gather concurrent requests into one scoring batch.")
@click.option("--max-batch", default=256, show_default=True, type=click.IntRange(1),
              help="The most samples scored in one batch.")
@click.option("--workers", default=None, type=click.IntRange(0),
              help="Scoring processes (0: score in a thread of the server, with no batch deadline).  "
                   "[default: CPUs - 1, from 1 to 8]")
@click.option("--batch-deadline", default=60.0, show_default=True, type=click.FloatRange(0, min_open=True),
              metavar="SECONDS", help="A batch still scoring after this fails (reward 0.0) and its worker is replaced.")
@click.option("--socket-timeout", default=10.0, show_default=True, type=click.FloatRange(0, min_open=True),
              metavar="SECONDS", help="Connections idle, or slow to send headers or body, this long are closed.")
@click.option("--max-connections", default=512, show_default=True, type=click.IntRange(1),
              help="Open connections beyond this are answered 503 and closed.")
def serve(host: str, port: int, aggregation: str, weights: str | None, mode: str, classifier: str | None,
          token_env: str | None, max_body: int, batch_window_ms: float, max_batch: int, workers: int | None,
          batch_deadline: float, socket_timeout: float, max_connections: int) -> None:
    """Serve rewards over HTTP with OpenRLHF's remote reward protocol (POST / or /get_reward)."""
    token = None
    if token_env:
        token = os.environ.get(token_env)
        if not token:
            raise click.UsageError(f"--token-env {token_env}: the environment variable is unset or empty")
    from ifverify.rewards.reward import Reward
    from ifverify.serve import RewardServer

    try:
        parsed_weights = json.loads(weights) if weights else None
        reward = Reward(aggregation=aggregation, mode=mode, weights=parsed_weights, classifier=classifier,
                        on_error="zero", name="ifverify_serve",
                        classifier_hint="start ifverify serve with --classifier SPEC")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        server = RewardServer(reward, host=host, port=port, max_body=max_body, token=token,
                              batch_window_ms=batch_window_ms, max_batch=max_batch, workers=workers,
                              batch_deadline=batch_deadline, socket_timeout=socket_timeout,
                              max_connections=max_connections)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"ifverify reward server on {server.url} (POST /get_reward); Ctrl-C to stop", err=True)
    try:
        server.serve_forever()
    except RuntimeError as exc:  # the workers could not start (e.g. a reward that does not pickle)
        raise click.ClickException(f"{exc}; --workers 0 scores in this process") from None
    click.echo(f"stopped: {json.dumps(server.stats())}", err=True)
