"""Without a classifier, the trainer-side rewards keep a mixed row's hard verdicts, and their hints name the
knob of their own surface (issue 11): IFVERIFY_CLASSIFIER for the OpenRLHF file and verl, reward.classifier for
ifverify train's TRL reward."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from ifverify.backends import verl as verl_backend
from ifverify.backends.openrlhf import reward_file_path
from ifverify.backends.reward_env import ENV_HINT
from ifverify.backends.trl import make_reward_funcs
from ifverify.backends.trl.run import CONFIG_HINT

MIXED = [{"id": "punctuation.no_comma"}, {"id": "soft.tone", "text": "Sound cheerful."}]
SOFT_ONLY = [{"id": "soft.tone", "text": "Sound cheerful."}]


def _openrlhf_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("IFVERIFY_CLASSIFIER", raising=False)
    spec = importlib.util.spec_from_file_location("ifverify_openrlhf_reward_unscored", reward_file_path())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_openrlhf_file__mixed_row_scores_its_hard_constraint(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _openrlhf_module(monkeypatch)
    answer = module.reward_func(["No commas here"], [""], [json.dumps(MIXED)])
    assert [float(r) for r in answer["rewards"]] == [1.0]
    assert answer["extra_logs"]["ifverify/failures"] == 0.0
    assert answer["extra_logs"]["ifverify/checked/soft.tone"] == 0.0  # unscored: no verdict to count
    assert answer["extra_logs"]["ifverify/passed/punctuation.no_comma"] == 1.0
    [result] = module.REWARD.score_batch(completions=["x"], constraints=[SOFT_ONLY])
    assert result.results[0].reason == f"unscored: soft constraints need a classifier ({ENV_HINT})"
    assert "IFVERIFY_CLASSIFIER" in ENV_HINT and "Reward(classifier" not in ENV_HINT


def test_verl__mixed_row_scores_its_hard_constraint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IFVERIFY_CLASSIFIER", raising=False)
    monkeypatch.setattr(verl_backend, "_reward", None)
    out = verl_backend.compute_score("ifverify", "No commas here", json.dumps(MIXED))
    assert (out["score"], out["error"], out["checked/soft.tone"], out["pass/punctuation.no_comma"]) == (
        1.0, 0.0, 0.0, 1.0)
    assert verl_backend.get_reward().classifier_hint == ENV_HINT
    soft_only = verl_backend.compute_score("ifverify", "No commas here", json.dumps(SOFT_ONLY))
    assert (soft_only["score"], soft_only["error"]) == (0.0, 1.0)  # nothing scored: a failure, 0.0


def test_trl_reward_from_a_config__names_reward_classifier() -> None:
    [func] = make_reward_funcs(classifier_hint=CONFIG_HINT)
    [result] = func.reward.score_batch(completions=["No commas"], constraints=[MIXED])
    assert result.reward == 1.0
    assert result.results[1].reason == f"unscored: soft constraints need a classifier ({CONFIG_HINT})"
    assert "reward.classifier" in CONFIG_HINT
