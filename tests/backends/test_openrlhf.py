"""The OpenRLHF backend: our reward file driven through OpenRLHF 0.11.2's own loader and reward call.

``openrlhf.utils.agent.SingleTurnAgentExecutor(remote_rm_url="....py")`` loads the file by path and, in
``execute``, decodes prompt + response with special tokens, calls ``reward_func([query], [prompt],
[label])`` and reads ``rewards`` / ``scores`` / ``extra_logs`` from the answer, swallowing any exception
at INFO level.  These tests run that code with a character tokenizer and a scripted engine.

The tests marked ``openrlhf_env`` need openrlhf itself, which belongs in its own environment: ``.ci/run``
makes ``.venvs/openrlhf`` (``scripts/setup_openrlhf_env.sh``) and runs them there with
``pytest tests/backends/test_openrlhf.py --backend-env openrlhf``; the main suite deselects them.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from ifverify.backends.openrlhf import (
    extract_response,
    label_columns,
    reward_file_path,
    strip_prompt,
    strip_special_tokens,
    write_openrlhf_jsonl,
)
from ifverify.cli.backends import openrlhf as openrlhf_cli

NO_COMMA = json.dumps([{"id": "punctuation.no_comma", "params": {}}])
TWO = json.dumps([{"id": "punctuation.no_comma", "params": {}},
                  {"id": "length.words", "params": {"relation": "at least", "num_words": 3}}])
IFEVAL = json.dumps({"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]})
PROMPT = "<|im_start|>user\nWrite about cats.<|im_end|>\n<|im_start|>assistant\n"
EOS = "<|im_end|>"
OPENRLHF_ENV = pytest.mark.openrlhf_env


# -- OpenRLHF's real code path --------------------------------------------------------------------------
class CharTokenizer:
    """A tokenizer with one id per character, and ``<|im_end|>`` as one special id (as in ChatML models)."""

    END_ID = 1_000_000

    def __call__(self, text: str, add_special_tokens: bool = False, return_tensors: str | None = None) -> Any:
        import torch

        return {"input_ids": torch.tensor([[ord(c) for c in text]])}

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return "".join((EOS if not skip_special_tokens else "") if i == self.END_ID else chr(i) for i in ids)


class ScriptedEngine:
    """An engine whose ``generate`` answers a fixed response followed by the end-of-turn token."""

    def __init__(self, response: str) -> None:
        self.response = response

    async def generate(self, prompt_token_ids: list[int], params: Any, multi_modal_data: Any = None) -> Any:
        ids = [ord(c) for c in self.response] + [CharTokenizer.END_ID]
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=ids, finish_reason="stop", logprobs=None)])


def openrlhf_execute(reward_file: str | Path, response: str, label: str, prompt: str = PROMPT) -> dict[str, Any]:
    """One sample through ``SingleTurnAgentExecutor``: OpenRLHF's loader and its reward call."""
    from openrlhf.utils import agent
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=str(reward_file))
    params = SimpleNamespace(max_tokens=256, logprobs=None)
    return asyncio.run(executor.execute(prompt, label, params, 1024, CharTokenizer(), ScriptedEngine(response)))


def assert_usable(output: dict[str, Any]) -> None:
    """The output carries a reward OpenRLHF can train on, turned into tensors as its samples generator does."""
    import torch

    assert output["reward"] is not None, "OpenRLHF got no reward: reward_func raised or did not return a dict"
    reward = torch.tensor([output["reward"]])
    assert reward.shape == (1,)
    assert torch.tensor([output["scores"]]).shape == (1,)
    assert output["extra_logs"], "no extra_logs"
    for key, value in output["extra_logs"].items():
        assert torch.tensor([value]).shape == (1,), key


@OPENRLHF_ENV
def test_openrlhf_loader_scores_a_passing_and_a_failing_response() -> None:
    good = openrlhf_execute(reward_file_path(), "Cats purr and sleep all day.", TWO)
    bad = openrlhf_execute(reward_file_path(), "Cats, as we know, sleep.", TWO)
    assert_usable(good)
    assert_usable(bad)
    assert float(good["reward"][0]) == 1.0
    assert float(bad["reward"][0]) == pytest.approx(0.5)
    assert good["extra_logs"]["ifverify/failures"] == 0.0
    assert good["extra_logs"]["ifverify/checked/punctuation.no_comma"] == 1.0
    assert good["extra_logs"]["ifverify/passed/punctuation.no_comma"] == 1.0
    assert bad["extra_logs"]["ifverify/passed/punctuation.no_comma"] == 0.0
    assert bad["extra_logs"]["ifverify/passed/length.words"] == 1.0
    assert bad["extra_logs"]["ifverify/checked/format.json"] == 0.0
    assert set(good["extra_logs"]) == set(bad["extra_logs"]), "extra_logs keys must not vary between samples"


@OPENRLHF_ENV
def test_openrlhf_loader_ifeval_label_and_bad_label() -> None:
    ifeval = openrlhf_execute(reward_file_path(), "No commas here", IFEVAL)
    assert_usable(ifeval)
    assert float(ifeval["reward"][0]) == 1.0
    broken = openrlhf_execute(reward_file_path(), "No commas here", "{not json")
    assert_usable(broken)  # a bad label is a scored failure, not an exception OpenRLHF would swallow
    assert float(broken["reward"][0]) == 0.0
    assert broken["extra_logs"]["ifverify/failures"] == 1.0
    assert set(broken["extra_logs"]) == set(ifeval["extra_logs"])


@OPENRLHF_ENV
def test_the_response_openrlhf_passes_is_stripped_of_prompt_and_special_tokens() -> None:
    # The prompt has a comma; only the response may be checked.  The trailing <|im_end|> must not count as words.
    prompt = "<|im_start|>user\nWrite, briefly, about cats.<|im_end|>\n<|im_start|>assistant\n"
    label = json.dumps([{"id": "punctuation.no_comma"},
                        {"id": "startend.end_phrase", "params": {"end_phrase": "Bye."}}])
    output = openrlhf_execute(reward_file_path(), "Cats sleep. Bye.", label, prompt=prompt)
    assert_usable(output)
    assert float(output["reward"][0]) == 1.0


@OPENRLHF_ENV
def test_environment_configures_the_reward_when_openrlhf_loads_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IFVERIFY_AGGREGATION", "all")
    output = openrlhf_execute(reward_file_path(), "Cats, as we know, sleep.", TWO)
    assert float(output["reward"][0]) == 0.0  # "all": one failed constraint fails the sample


@OPENRLHF_ENV
def test_the_copied_file_works_through_openrlhf(tmp_path: Path) -> None:
    target = tmp_path / "rewards" / "ifverify_reward.py"
    result = CliRunner().invoke(openrlhf_cli, ["reward-file", "--write", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == reward_file_path().read_text()
    output = openrlhf_execute(target, "Cats purr and sleep all day.", TWO)
    assert_usable(output)
    assert float(output["reward"][0]) == 1.0


BROKEN_FILES = {
    "bare_tensor": """
        import importlib.util
        spec = importlib.util.spec_from_file_location("ifverify_reward", {path!r})
        ours = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ours)

        def reward_func(queries, prompts, labels):
            return ours.reward_func(queries, prompts, labels)["rewards"]
    """,
    "raises": """
        def reward_func(queries, prompts, labels):
            raise ValueError("boom")
    """,
}


@OPENRLHF_ENV
@pytest.mark.parametrize("kind", sorted(BROKEN_FILES))
def test_a_bare_tensor_or_an_exception_is_detected(kind: str, tmp_path: Path) -> None:
    """OpenRLHF silently drops the reward of a function that returns a bare tensor or raises; the check sees it."""
    path = tmp_path / f"{kind}.py"
    path.write_text(textwrap.dedent(BROKEN_FILES[kind].format(path=str(reward_file_path()))))
    output = openrlhf_execute(path, "Cats purr and sleep all day.", TWO)
    assert output["reward"] is None
    with pytest.raises(AssertionError, match="no reward"):
        assert_usable(output)


# -- reward_func called directly ------------------------------------------------------------------------
def _reward_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("ifverify_openrlhf_reward_test", reward_file_path())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reward_func_never_raises_on_malformed_input() -> None:
    module = _reward_module()
    cases: list[tuple[Any, Any, Any]] = [
        ([None], [PROMPT], [NO_COMMA]),
        (["x"], [PROMPT], [None]),
        (["x"], [PROMPT], ["[1, 2]"]),
        (["x"], [PROMPT], ['[{"id": "no.such.constraint"}]']),
        (["x"], None, None),
        (["x", "y"], [PROMPT], [NO_COMMA]),
    ]
    for queries, prompts, labels in cases:
        answer = module.reward_func(queries, prompts, labels)
        rewards = [float(r) for r in answer["rewards"]]
        assert len(rewards) == len(queries)
        assert set(answer) == {"rewards", "scores", "extra_logs"}
        assert all(isinstance(v, float) for v in answer["extra_logs"].values())
    assert module.reward_func(None, None, None)["extra_logs"]["ifverify/failures"] >= 1.0


def test_reward_func_counts_failures_and_keeps_stable_keys() -> None:
    module = _reward_module()
    good = module.reward_func([PROMPT + "No commas" + EOS], [PROMPT], [NO_COMMA])
    bad = module.reward_func([PROMPT + "No commas" + EOS], [PROMPT], ["{oops"])
    assert [float(r) for r in good["rewards"]] == [1.0]
    assert [float(r) for r in bad["rewards"]] == [0.0]
    assert good["extra_logs"]["ifverify/failures"] == 0.0
    assert bad["extra_logs"]["ifverify/failures"] == 1.0
    assert list(good["extra_logs"]) == list(bad["extra_logs"])
    assert good["extra_logs"]["ifverify/constraint_pass_rate"] == 1.0


# -- response extraction and labels ---------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Hello<|im_end|>", "Hello"),
    ("Hello<|im_end|>\n<|endoftext|><|endoftext|>", "Hello"),
    ("Hello</s>", "Hello"),
    ("Hello<|eot_id|>", "Hello"),
    ("Hello<end_of_turn>\n", "Hello"),
    ("Hello<|some_new_token|>", "Hello"),
    ("<s> Hello</s>", "Hello"),
    ("Keep <|im_end|> inside", "Keep <|im_end|> inside"),
    ("Plain", "Plain"),
    ("", ""),
])
def test_strip_special_tokens(text: str, expected: str) -> None:
    assert strip_special_tokens(text) == expected


def test_strip_prompt() -> None:
    assert strip_prompt(PROMPT + "Answer", PROMPT) == "Answer"
    assert strip_prompt("<s>" + PROMPT + "Answer", PROMPT) == "Answer"  # a BOS before the prompt
    assert strip_prompt(" " + PROMPT.strip() + "Answer", PROMPT) == "Answer"
    # decoding changed the prompt: fall back on the last assistant marker
    assert strip_prompt("<|im_start|>user\nW r i t e<|im_end|>\n<|im_start|>assistant\nAnswer", PROMPT) == "Answer"
    assert strip_prompt("Answer", None) == "Answer"
    assert extract_response(PROMPT + "Answer, done.<|im_end|>", PROMPT) == "Answer, done."
    with pytest.raises(TypeError):
        extract_response(None, PROMPT)  # type: ignore[arg-type]


def test_label_columns() -> None:
    assert label_columns(NO_COMMA) == {"constraints": [{"id": "punctuation.no_comma", "params": {}}]}
    assert label_columns(IFEVAL) == {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    assert label_columns({"constraints": []}) == {"constraints": []}
    assert label_columns(json.loads(NO_COMMA)) == {"constraints": [{"id": "punctuation.no_comma", "params": {}}]}
    for bad in ("{not json", "3", '{"other": 1}', None):
        with pytest.raises(ValueError):
            label_columns(bad)


def test_write_openrlhf_jsonl(tmp_path: Path) -> None:
    from ifverify.data.curriculum import build_curriculum, load_bundled_seeds

    rows = build_curriculum(load_bundled_seeds()[:2], n_constraints=2, soft_ratio=0,
                            hard_ids=["punctuation.no_comma", "length.words"])
    ifeval_row = {"prompt": "Say hi.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    out = tmp_path / "data" / "train.jsonl"
    assert write_openrlhf_jsonl([*rows, ifeval_row], out) == len(rows) + 1
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    for row, line in zip(rows, lines, strict=False):
        assert line["prompt"] == row["prompt"]
        assert isinstance(line["label"], str)
        assert json.loads(line["label"]) == row["constraints"]
        assert (line["id"], line["level"], line["seed_id"]) == (row["id"], row["level"], row["seed_id"])
    assert label_columns(lines[-1]["label"]) == {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    with pytest.raises(ValueError):
        write_openrlhf_jsonl([{"prompt": "x"}], tmp_path / "bad.jsonl")


def test_reward_file_cli_prints_the_path() -> None:
    result = CliRunner().invoke(openrlhf_cli, ["reward-file"])
    assert result.exit_code == 0
    assert Path(result.output.strip()) == reward_file_path()
    assert reward_file_path().is_file()


# -- the command ifverify train builds --------------------------------------------------------------------
def _openrlhf_parser_flags() -> set[str]:
    """The flags declared in the installed openrlhf's train_ppo_ray parser (read as text: importing it needs
    ray and CUDA)."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("openrlhf")
    assert spec is not None and spec.submodule_search_locations, "openrlhf is not installed"
    source = Path(next(iter(spec.submodule_search_locations))) / "cli" / "train_ppo_ray.py"
    text = source.read_text(encoding="utf-8")
    flags = set(re.findall(r'"(--[a-z_.]+)"', text))
    for prefix in ("actor", "critic"):  # flags built per model prefix: f"--{prefix}.adam.lr"
        flags |= {f"--{prefix}{rest}" for rest in re.findall(r'f"--\{prefix\}([a-z_.]+)"', text)}
    return flags


@OPENRLHF_ENV
def test_every_flag_of_the_example_command_exists_in_openrlhfs_parser() -> None:
    from ifverify.backends.config import load_config
    from ifverify.backends.dispatch import plan

    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "configs" / "openrlhf.yaml")
    command = plan(config).command
    assert command is not None
    emitted = {arg for arg in command if arg.startswith("--")}
    assert "--reward.remote_url" in emitted
    assert emitted <= _openrlhf_parser_flags()
