"""Hostile input to the trainer-facing paths: ``Reward`` and the OpenRLHF reward file.

A bad sample fails alone (``None`` or 0.0, counted), a bad call is one clear configuration error, and
everything answers in bounded time.
"""

from __future__ import annotations

import json
import time

import pytest

from ifverify.backends import openrlhf_reward
from ifverify.backends.openrlhf import strip_special_tokens
from ifverify.rewards.reward import Reward

BOUND = 10.0
NO_COMMA = [{"id": "punctuation.no_comma", "params": {}}]
POISON = [{"id": "keywords:forbidden_words", "params": {"forbidden_words": ["(a|aa)+$"]}}]


@pytest.mark.parametrize(("completions", "message"), [
    (None, "completions=[...]"),
    (5, "got int"),
    ((c for c in ["a"]), "got generator"),
    ("one completion", "wrap a single completion in a list"),
])
def test_reward__bad_completions_are_one_configuration_error(completions, message):
    with pytest.raises(TypeError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        Reward()(completions=completions, constraints=[NO_COMMA])


def test_reward__constraint_column_of_the_wrong_length_is_named():
    with pytest.raises(ValueError, match="column 'constraints' has 1 value"):
        Reward()(completions=["a", "b"], constraints=[NO_COMMA])
    with pytest.raises(ValueError, match="column 'kwargs' has 3 value"):
        Reward()(completions=["a", "b"], instruction_id_list=[["punctuation:no_comma"]] * 2, kwargs=[None] * 3)


def test_reward__poison_samples_fail_alone_in_bounded_time():
    reward = Reward()
    completions = ["plain text", "a" * 40 + "!", [{"role": "assistant", "content": [{"type": "text", "text": 5}]}],
                   [{"role": "assistant", "content": None}], "x, y", "<" * 1_000_000]
    constraints = [NO_COMMA, POISON, NO_COMMA, NO_COMMA, NO_COMMA, [{"id": "format.title"}]]
    start = time.perf_counter()
    results = reward.score_batch(completions=completions, constraints=constraints)
    assert time.perf_counter() - start < BOUND
    assert [r.reward for r in results] == [1.0, None, None, None, 0.0, 0.0]
    assert "ran past its" in results[1].error
    assert "completion[-1].content[0].text" in results[2].error
    assert "completion[-1].content" in results[3].error and "null" in results[3].error
    assert reward.failures == 3


def test_reward_file__trailing_special_tokens_are_linear():
    start = time.perf_counter()
    assert strip_special_tokens("answer" + "<|im_end|>" * 100_000) == "answer"
    assert time.perf_counter() - start < BOUND


def test_reward_file__bad_labels_fail_their_samples_only():
    prompt = "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n"
    queries = [prompt + "fine" + "<|im_end|>" * 16000, prompt + "x", prompt + "y", prompt + "z"]
    labels = [json.dumps(NO_COMMA), "[]", "{oops", json.dumps({"foo": 1})]
    start = time.perf_counter()
    out = openrlhf_reward.reward_func(queries, [prompt] * 4, labels)
    assert time.perf_counter() - start < BOUND
    assert [float(x) for x in out["rewards"]] == [1.0, 0.0, 0.0, 0.0]
    assert out["extra_logs"]["ifverify/failures"] == 3.0
