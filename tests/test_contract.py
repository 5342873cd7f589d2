"""One contract, every registered constraint (plugins included): never raises, scores in [0, 1],
deterministic across processes, pickles, and phrases itself from sampled params."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifverify.constraints.base import Constraint
from ifverify.constraints.registry import default_registry
from ifverify.rewards.scoring import LOOSE, STRICT, hard_result

IDS = default_registry().ids("hard")

TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("aA ,.!?*-#\n\"'[]<>{}:0123456789ÉéßİǅⒶ中文😀\u0301\t")), max_size=300),
    st.lists(st.sampled_from(["Section 1", "***", "******", "P.S.", "<<t>>", "* item", "- item", "```json",
                              "{\"a\": 1}", "My answer is yes.", "HELLO", "world", "\n\n", ", ", ". "]),
             max_size=40).map("".join),
)


def instance(constraint_id: str, seed: int = 0) -> Constraint:
    cls = default_registry().get(constraint_id)
    return default_registry().build(constraint_id, cls.sample_params(random.Random(seed)))


def adversarial_texts() -> dict[str, str]:
    """Texts that broke IFEval-style checkers elsewhere: empty, blank, huge, deeply nested, odd scripts."""
    return {
        "empty": "",
        "whitespace": " \n\t \r\n ",
        "one_mb": ("The Quick brown fox, JUMPS over the lazy dog. " * 23000)[:1_000_000],
        "json_10000_deep": "[" * 10_000 + "]" * 10_000,
        "json_10000_deep_open": '{"a":' * 10_000,
        "run_of_one_char": "a" * 200_000,
        "run_of_stars": "*" * 100_000,
        "run_of_newlines": "\n" * 100_000,
        "regex_hostile": "(((((((((([[[[[[[[\\\\\\\\" * 1000 + "?*+" * 1000,
        "mixed_scripts_emoji": "Hello мир 世界 مرحبا नमस्ते 😀🎉👩‍👩‍👧 ǅemal Ⓐ ﬁ\u0301" * 500,
        "nul_and_controls": "\x00\x01\x02\x7f\u200b\ufeff" * 1000,
    }


@pytest.mark.parametrize("constraint_id", IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS)
def test_contract__never_raises_and_scores_in_unit_interval(constraint_id: str, text: str) -> None:
    constraint = instance(constraint_id)
    for mode in (STRICT, LOOSE):
        result = hard_result(constraint, text, mode)  # type: ignore[arg-type]
        assert 0.0 <= result.score <= 1.0
        assert result.verdict in (True, False)
        assert isinstance(result.reason, str)


@pytest.mark.parametrize("constraint_id", IDS)
def test_contract__returns_on_adversarial_texts(constraint_id: str) -> None:
    constraint = instance(constraint_id)
    for name, text in adversarial_texts().items():
        verdict = constraint.check(text)  # type: ignore[attr-defined]
        assert verdict in (True, False), name


@pytest.mark.parametrize("constraint_id", IDS)
def test_contract__pickles_and_phrases_sampled_params(constraint_id: str) -> None:
    for seed in range(5):
        constraint = instance(constraint_id, seed)
        clone = pickle.loads(pickle.dumps(constraint))
        assert clone == constraint
        phrase = constraint.instruction()
        assert phrase and "{" not in phrase.replace("{\"", "")


_CORPUS = ["", "Hello World, HELLO.", "* a\n* b\n- c", "p.s. done", "<<T>>\n\nSection 1 x\n\nSection 2 y",
           '"quoted answer"', "Das ist ein deutscher Satz über das Wetter.", "ALL CAPS HERE I THINK",
           "My answer is yes.", '```json\n{"a": [1, 2]}\n```', "one ****** two"]


def _verdicts() -> dict[str, Any]:
    return {cid: [hard_result(instance(cid, s), t, m).verdict  # type: ignore[arg-type]
                  for s in range(3) for t in _CORPUS for m in (STRICT, LOOSE)] for cid in IDS}


def test_contract__deterministic_across_processes() -> None:
    code = ("import json, tests_contract_probe as p; print(json.dumps(p._verdicts()))")
    here = __import__("pathlib").Path(__file__).parent
    proc = subprocess.run([sys.executable, "-c", code.replace("tests_contract_probe", "test_contract")],
                          capture_output=True, text=True, cwd=here, env={**__import__("os").environ,
                                                                         "PYTHONHASHSEED": "12345"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == _verdicts()
