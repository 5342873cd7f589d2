"""The config's ``reward:`` block carried to trainers that load our reward in their own processes.

OpenRLHF loads ``openrlhf_reward.py`` and verl loads ``verl.py`` by path, in processes ifverify does not
start directly, so the reward settings travel as environment variables, which those processes inherit:

- ``IFVERIFY_AGGREGATION``: ``mean`` (default), ``all`` or ``weighted``;
- ``IFVERIFY_WEIGHTS``: for ``weighted``, a JSON object of weights by constraint id, alias or kind;
- ``IFVERIFY_MODE``: ``strict`` (default) or ``loose``;
- ``IFVERIFY_CLASSIFIER``: the soft-constraint scorer spec (``default``, a classifier folder, ``judge:<url>``);
- ``IFVERIFY_THRESHOLD``: the probability at which a soft constraint counts as satisfied.

:func:`reward_env` turns a config's ``reward`` section into those variables (``ifverify train`` sets them for
the trainer it starts and prints them in the plan); :func:`reward_from_env` builds the :class:`Reward` from them.
Failures score 0.0 there (``on_error: zero``), as those trainers need a number per sample.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ifverify.rewards.reward import Reward

#: How a user of the OpenRLHF reward file or the verl reward sets a classifier.
ENV_HINT = "set IFVERIFY_CLASSIFIER where the trainer runs, or reward.classifier in the ifverify train config"


def reward_env(reward: Mapping[str, Any]) -> dict[str, str]:
    """The ``IFVERIFY_*`` variables for a config's (defaults applied) ``reward`` section, sorted by name."""
    env = {"IFVERIFY_AGGREGATION": str(reward["aggregation"]), "IFVERIFY_MODE": str(reward["mode"])}
    if reward.get("weights"):
        env["IFVERIFY_WEIGHTS"] = json.dumps(dict(reward["weights"]), sort_keys=True)
    if reward.get("classifier"):
        env["IFVERIFY_CLASSIFIER"] = str(reward["classifier"])
    if reward.get("threshold") is not None:
        env["IFVERIFY_THRESHOLD"] = repr(float(reward["threshold"]))
    return dict(sorted(env.items()))


def reward_from_env(name: str, environ: Mapping[str, str] | None = None) -> Reward:
    """The :class:`Reward` the ``IFVERIFY_*`` variables describe (``on_error="zero"``); a bad value raises
    ``ValueError`` naming the variable."""
    from ifverify.rewards.reward import Reward

    env = os.environ if environ is None else environ
    weights = env.get("IFVERIFY_WEIGHTS")
    threshold = env.get("IFVERIFY_THRESHOLD")
    try:
        parsed_weights = json.loads(weights) if weights else None
    except ValueError as exc:
        raise ValueError(f"IFVERIFY_WEIGHTS: not a JSON object: {exc}") from None
    try:
        parsed_threshold = float(threshold) if threshold else None
    except ValueError:
        raise ValueError(f"IFVERIFY_THRESHOLD: not a number: {threshold!r}") from None
    return Reward(aggregation=env.get("IFVERIFY_AGGREGATION", "mean"), mode=env.get("IFVERIFY_MODE", "strict"),
                  weights=parsed_weights, classifier=env.get("IFVERIFY_CLASSIFIER") or None,
                  threshold=parsed_threshold, on_error="zero", name=name, classifier_hint=ENV_HINT)
