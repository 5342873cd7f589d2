"""ifverify's reward function for OpenRLHF 0.11.2: pass this file as ``--reward.remote_url``.

OpenRLHF loads this file by path and calls ``reward_func(queries, prompts, labels)`` once per sample
(lists of length 1).  For each sample the response is the query without the prompt and the special
tokens; the label is the row's constraints as JSON (a list of native specs, or IFEval's
``{"instruction_id_list": [...], "kwargs": [...]}``).  The file needs ``ifverify`` installed where
the reward runs; copy it anywhere (``ifverify openrlhf reward-file --write PATH``).

Configuration, read once when OpenRLHF loads the file (a bad value fails there, loudly):

- ``IFVERIFY_AGGREGATION``: ``mean`` (default), ``all`` or ``weighted``;
- ``IFVERIFY_WEIGHTS``: for ``weighted``, a JSON object of weights by constraint id, alias or kind;
- ``IFVERIFY_MODE``: ``strict`` (default) or ``loose``;
- ``IFVERIFY_CLASSIFIER``: the soft-constraint scorer (``default``, a classifier folder or ``judge:<url>``);
  without one, soft constraints are unscored and a row's reward is over its hard constraints;
- ``IFVERIFY_THRESHOLD``: the probability at which a soft constraint counts as satisfied.

``ifverify train`` sets them from the config's ``reward:`` block (:mod:`ifverify.backends.reward_env`).

The answer is ``{"rewards": tensor, "scores": tensor, "extra_logs": {...}}`` (lists without torch).
``extra_logs`` has the same keys for every sample, as OpenRLHF stacks them per key across samples:
``ifverify/failures`` (samples that could not be scored), ``ifverify/constraint_pass_rate`` (the
fraction of the sample's constraints it satisfied), and, for every registered constraint id,
``ifverify/checked/<id>`` (1.0 when the sample carries that constraint) and ``ifverify/passed/<id>``
(1.0 when it carries and satisfies it); a type's pass rate is mean(passed) / mean(checked).
``reward_func`` never raises: OpenRLHF logs reward exceptions at INFO level and trains on nothing, so a
sample that cannot be scored gets 0.0 and counts in ``ifverify/failures``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ifverify.backends.openrlhf import (  # noqa: F401  (the keys are part of this file's interface)
    CHECKED_PREFIX,
    FAILURES_KEY,
    PASS_RATE_KEY,
    PASSED_PREFIX,
    extra_logs,
    parse_label,
    score_samples,
)
from ifverify.backends.reward_env import reward_from_env
from ifverify.constraints.registry import default_registry
from ifverify.rewards.reward import Reward, SampleResult

log = logging.getLogger("ifverify.backends.openrlhf")


REWARD: Reward = reward_from_env("ifverify_openrlhf")
CONSTRAINT_IDS: tuple[str, ...] = tuple(sorted(default_registry().ids()))


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - OpenRLHF always has torch
        return None
    return torch


def reward_func(queries: Sequence[Any], prompts: Sequence[Any], labels: Sequence[Any],
                **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF's reward function: ``{"rewards", "scores", "extra_logs"}`` for the samples.  Never raises."""
    try:
        n = len(queries)
        prompts = list(prompts) if prompts is not None else [None] * n
        labels = list(labels) if labels is not None else [None] * n
        samples = [(q, prompts[i] if i < len(prompts) else None, parse_label(labels[i] if i < len(labels) else None))
                   for i, q in enumerate(queries)]
        results = score_samples(REWARD, samples)
    except Exception as exc:  # the batch itself is malformed
        log.warning("ifverify reward: malformed call: %s: %s", type(exc).__name__, exc)
        try:
            n = len(queries)
        except Exception:
            n = 1
        results = [SampleResult(0.0, [], f"{type(exc).__name__}: {exc}") for _ in range(n)]
    failed = [r.error for r in results if r.error is not None]
    if failed:
        REWARD.failures += len(failed)
        log.warning("ifverify reward: %d sample(s) could not be scored and get 0.0; the first: %s",
                    len(failed), failed[0][:300])
    rewards = [float(r.reward or 0.0) for r in results]
    try:
        logs = extra_logs(results, CONSTRAINT_IDS)
    except Exception as exc:  # pragma: no cover - defensive
        log.warning("ifverify reward: extra logs failed: %s", exc)
        logs = {FAILURES_KEY: float(len(results))}
    torch = _torch()
    if torch is None:
        return {"rewards": rewards, "scores": list(rewards), "extra_logs": logs}
    return {"rewards": torch.tensor(rewards, dtype=torch.float32),
            "scores": torch.tensor(rewards, dtype=torch.float32), "extra_logs": logs}
