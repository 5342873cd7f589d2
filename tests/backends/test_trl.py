"""The TRL backend: ifverify rewards inside a real ``trl.GRPOTrainer`` on CPU, over two curriculum stages."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
from typing import Any

import pytest

pytest.importorskip("trl")
pytest.importorskip("datasets")

from _tiny_models import tiny_model_and_tokenizer  # noqa: E402,F401  (test_trl_resume and others import it here)

from ifverify.backends.trl import (  # noqa: E402
    AsyncTRLReward,
    TRLReward,
    curriculum_datasets,
    make_reward_funcs,
    ordered_dataset,
    rows_to_dataset,
    train_curriculum,
)
from ifverify.data.curriculum import build_curriculum, load_bundled_seeds  # noqa: E402

HARD = ["punctuation.no_comma", "length.words"]
@pytest.fixture(scope="module")
def curriculum_rows() -> list[dict[str, Any]]:
    return build_curriculum(load_bundled_seeds()[:2], n_constraints=2, soft_ratio=0, hard_ids=HARD)


class Recorder(TRLReward):
    """A TRLReward that records the prompts and constraint columns it was called with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> list[float | None]:
        self.calls.append({"prompts": list(kwargs["prompts"]), "level": list(kwargs.get("level", []))})
        return super().__call__(**kwargs)


class AsyncRecorder(AsyncTRLReward):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    async def __call__(self, **kwargs: Any) -> list[float | None]:
        self.calls += 1
        return await super().__call__(**kwargs)


def grpo_trainer(reward_funcs: list[Any], dataset: Any, output_dir: str, **config: Any) -> Any:
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = tiny_model_and_tokenizer()
    args = GRPOConfig(output_dir=output_dir, use_cpu=True, bf16=False, use_vllm=False, report_to="none",
                      per_device_train_batch_size=4, num_generations=2, max_completion_length=8,
                      max_steps=2, logging_steps=1, save_strategy="no", learning_rate=1e-3, seed=0,
                      dataloader_num_workers=0, **config)
    return GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=reward_funcs, args=args,
                       train_dataset=dataset)


# -- unit level ----------------------------------------------------------------------------------------
def test_reward__returns_rewards_and_logs_pass_rates_from_one_scoring(curriculum_rows: list[dict[str, Any]]) -> None:
    [func] = make_reward_funcs(name="ifv")
    assert func.__name__ == "ifv"
    scored = []
    original = func.reward.score_batch
    func.reward.score_batch = lambda **kw: scored.append(1) or original(**kw)  # type: ignore[method-assign]
    logged: dict[str, list[float]] = {}
    constraints = [json.dumps([{"id": "punctuation.no_comma", "params": {}}]),
                   json.dumps([{"id": "punctuation.no_comma", "params": {}},
                               {"id": "length.words", "params": {"relation": "less than", "num_words": 5}}])]
    rewards = func(prompts=["p", "q"], completions=["a, b", "no commas here"], constraints=constraints,
                   log_metric=lambda k, v: logged.setdefault(k, []).append(v), trainer_state=None)
    assert rewards == [0.0, 1.0]
    assert scored == [1]
    assert logged["ifverify/pass_rate/punctuation.no_comma"] == [0.5]
    assert logged["ifverify/pass_rate/length.words"] == [1.0]
    assert logged["ifverify/ifv/failures"] == [0.0]


def test_reward__never_raises_and_is_picklable() -> None:
    [func] = make_reward_funcs(per_constraint_metrics=False)
    assert func(prompts=["p"], completions=["x"], constraints=["not json"]) == [None]
    assert func(prompts=["p", "q"], completions=None) == [None, None]
    assert func(prompts=["p"], completions=["x"], constraints=["[]"], log_metric=lambda *a: 1 / 0) is not None
    clone = pickle.loads(pickle.dumps(func))
    assert clone.__name__ == func.__name__ == "ifverify_mean_strict"
    assert clone(completions=["a b"], constraints=[[{"id": "punctuation.no_comma"}]]) == [1.0]


def test_async_reward__same_results_as_sync() -> None:
    [func] = make_reward_funcs(asynchronous=True)
    assert isinstance(func, AsyncTRLReward)
    logged: dict[str, float] = {}
    rewards = asyncio.run(func(prompts=["p"], completions=["a, b"],
                               constraints=[[{"id": "punctuation.no_comma"}]], log_metric=logged.__setitem__))
    assert rewards == [0.0]
    assert logged["ifverify/pass_rate/punctuation.no_comma"] == 0.0
    assert pickle.loads(pickle.dumps(func)).__name__ == func.__name__


def test_datasets__levels_json_constraints_and_ordered(curriculum_rows: list[dict[str, Any]], tmp_path: Any) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in curriculum_rows), encoding="utf-8")
    levels = curriculum_datasets(path)
    assert list(levels) == [1, 2]
    assert levels[2]["level"] == [2, 2]
    assert json.loads(levels[2]["constraints"][0]) == curriculum_rows[2]["constraints"]
    assert levels[1]["prompt"] == [r["prompt"] for r in curriculum_rows[:2]]
    chat = rows_to_dataset(curriculum_rows[:1], conversational=True)
    assert chat["prompt"][0] == [{"role": "user", "content": curriculum_rows[0]["prompt"]}]
    assert ordered_dataset(levels)["level"] == [1, 1, 2, 2]
    assert list(curriculum_datasets(curriculum_rows, levels=[2])) == [2]
    with pytest.raises(ValueError, match="level"):
        curriculum_datasets(curriculum_rows, levels=[7])


def test_import__does_not_import_torch_trl_or_datasets() -> None:
    code = ("import sys, ifverify.backends.trl; "
            "print([m for m in ('torch', 'trl', 'datasets') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.stdout.strip() == "[]"


# -- a real GRPOTrainer ---------------------------------------------------------------------------------
def test_grpo__two_curriculum_stages_log_rewards_and_pass_rates(curriculum_rows: list[dict[str, Any]],
                                                                tmp_path: Any) -> None:
    levels = curriculum_datasets(curriculum_rows, conversational=True)
    recorder = Recorder(make_reward_funcs(name="ifverify_test")[0].reward)
    trainer = grpo_trainer([recorder], levels[1], str(tmp_path))
    optimizers: list[int] = []
    stages = train_curriculum(trainer, [levels[1], levels[2]],
                              on_stage_end=lambda i, s: optimizers.append(id(trainer.optimizer)))
    assert [s["rows"] for s in stages] == [2, 2]
    assert [s["global_step"] for s in stages] == [2, 2]
    assert optimizers[0] == optimizers[1]  # one optimizer for both stages
    for stage in stages:
        logs = [entry for entry in stage["log_history"] if "rewards/ifverify_test/mean" in entry]
        assert logs, stage["log_history"]
        assert any("ifverify/pass_rate/punctuation.no_comma" in entry for entry in logs)
        assert any("ifverify/pass_rate/length.words" in entry for entry in logs)
        assert all("ifverify/ifverify_test/failures" in entry for entry in logs)
    # Two steps per stage, one generation per step: stage 1 saw only L1 rows, stage 2 only L2 rows.
    assert len(recorder.calls) == 4
    l1 = {m[0]["content"] for m in levels[1]["prompt"]}
    l2 = {m[0]["content"] for m in levels[2]["prompt"]}
    seen = [{p[-1]["content"] for p in call["prompts"]} for call in recorder.calls]
    assert all(s <= l1 for s in seen[:2]) and all(s <= l2 for s in seen[2:])
    assert [set(call["level"]) for call in recorder.calls] == [{1}, {1}, {2}, {2}]


def test_grpo__async_reward_runs_through_trl(curriculum_rows: list[dict[str, Any]], tmp_path: Any) -> None:
    [base] = make_reward_funcs(name="ifverify_async")
    func = AsyncRecorder(base.reward)
    levels = curriculum_datasets(curriculum_rows)
    trainer = grpo_trainer([func], ordered_dataset(levels), str(tmp_path), shuffle_dataset=False)
    assert trainer._has_async_funcs
    trainer.train()
    assert func.calls == 2
    logs = [entry for entry in trainer.state.log_history if "rewards/ifverify_async/mean" in entry]
    assert len(logs) == 2
    assert any("ifverify/pass_rate/punctuation.no_comma" in entry for entry in logs)
