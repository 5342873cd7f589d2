"""One way to name a soft scorer, for every surface (``Reward``, ``check``, ``serve``, the training config).

A *scorer spec* is one of:

* ``None``: no scorer; soft constraints are left unscored;
* ``"default"``: the packaged soft verifier shipped with ifverify (:func:`ifverify.learned.default.default_classifier`);
* ``"judge:<base_url>[?model=<name>&...]"``: an LLM judge behind an OpenAI-compatible endpoint
  (:mod:`ifverify.learned.judge`);
* the path of a saved classifier folder (``ifverify rm train --out DIR``: a cross-encoder, or a feature verifier
  made with ``--model-type features``);
* any object with ``score_pairs(pairs) -> Sequence[float]`` (a :class:`ifverify.rewards.reward.SoftScorer`).

Named scorers are loaded once per process and shared.  Nothing heavy is imported until one is loaded.
"""

from __future__ import annotations

import os
import threading
from typing import Any

DEFAULT = "default"
JUDGE_PREFIX = "judge:"

_LOADED: dict[str, Any] = {}
_LOCK = threading.Lock()


def describe(spec: Any) -> str:
    """A short human name for a spec, for messages."""
    if spec is None:
        return "none"
    if isinstance(spec, str | os.PathLike):
        return os.fspath(spec)
    return type(spec).__name__


def load_scorer(spec: Any) -> Any:
    """The scorer a spec names (see the module docstring); loading errors propagate unchanged."""
    if spec is None:
        return None
    if not isinstance(spec, str | os.PathLike):
        return spec
    key = os.fspath(spec)
    with _LOCK:
        scorer = _LOADED.get(key)
    if scorer is not None:
        return scorer
    if key == DEFAULT:
        from ifverify.learned.default import default_classifier

        scorer = default_classifier()
    elif key.startswith(JUDGE_PREFIX):
        from ifverify.learned.judge import judge_from_spec

        scorer = judge_from_spec(key)
    else:
        from ifverify.learned.feature_verifier import FeatureVerifier, is_feature_verifier

        if is_feature_verifier(key):
            scorer = FeatureVerifier.load(key)
        else:
            from ifverify.learned.classifier import shared_classifier

            scorer = shared_classifier(key)
    with _LOCK:
        return _LOADED.setdefault(key, scorer)


def threshold_of(scorer: Any, default: float = 0.5) -> float:
    """The scorer's own decision threshold, else ``default``."""
    return float(getattr(scorer, "threshold", default))
