"""The verl backend: ``compute_score`` against verl 0.9.1's custom-reward contract, and the parquet data.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)`` per
sample; the answer is a float or a dict with a float ``"score"``, whose other keys verl stacks per key
across the batch (so every sample must give the same keys, with scalar values).  verl itself is not
installed here (its transformers pin conflicts), so the contract is checked directly.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

from ifverify.backends import verl as verl_backend
from ifverify.backends.verl import compute_score, constraint_ids, write_verl_parquet

TWO = [{"id": "punctuation.no_comma", "params": {}},
       {"id": "length.words", "params": {"relation": "at least", "num_words": 3}}]


def assert_verl_answer(answer: Any) -> float:
    """The answer follows verl's contract; returns the score."""
    assert isinstance(answer, dict)
    assert isinstance(answer["score"], float) and math.isfinite(answer["score"])
    for key, value in answer.items():
        assert isinstance(key, str)
        assert isinstance(value, float) and math.isfinite(value), key
    return answer["score"]


def test_compute_score_scores_and_reports_each_constraint() -> None:
    good = compute_score("ifverify", "Cats purr and sleep all day.", json.dumps(TWO))
    bad = compute_score("ifverify", "Cats, as we know, sleep.", json.dumps(TWO), extra_info={"index": 3})
    assert assert_verl_answer(good) == 1.0
    assert assert_verl_answer(bad) == pytest.approx(0.5)
    assert good["pass/punctuation.no_comma"] == 1.0 and bad["pass/punctuation.no_comma"] == 0.0
    assert bad["pass/length.words"] == 1.0 and bad["checked/length.words"] == 1.0
    assert bad["checked/format.json"] == 0.0 and bad["pass/format.json"] == 0.0
    assert good["error"] == 0.0 and good["constraint_pass_rate"] == 1.0
    assert bad["constraint_pass_rate"] == pytest.approx(0.5)
    assert list(good) == list(bad), "keys must not vary between samples"
    assert {f"pass/{cid}" for cid in constraint_ids()} <= set(good)


def test_compute_score_accepts_a_list_ifeval_labels_special_tokens_and_extra_kwargs() -> None:
    assert compute_score("ifverify", "Cats purr and sleep all day.", TWO)["score"] == 1.0
    ifeval = {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    assert compute_score("ifverify", "No commas", json.dumps(ifeval))["score"] == 1.0
    assert compute_score("ifverify", "Cats sleep. Bye.<|im_end|>",
                         [{"id": "startend.end_phrase", "params": {"end_phrase": "Bye."}}])["score"] == 1.0
    assert compute_score(data_source="ifverify", solution_str="No commas", ground_truth=TWO[:1],
                         extra_info=None, return_dict=True, step=7)["score"] == 1.0


@pytest.mark.parametrize("ground_truth", [None, "", "{not json", "3", "[1]", '[{"id": "no.such.constraint"}]',
                                          '{"other": 1}', b"\xff\xfe", object()])
def test_bad_ground_truth_never_raises(ground_truth: Any) -> None:
    answer = compute_score("ifverify", "Anything.", ground_truth)
    assert assert_verl_answer(answer) == 0.0
    assert answer["error"] == 1.0
    assert list(answer) == list(compute_score("ifverify", "x", TWO))


def test_bad_solution_never_raises() -> None:
    assert assert_verl_answer(compute_score("ifverify", None, TWO)) in (0.0, 0.5, 1.0)


def test_the_module_loads_by_path_as_verl_loads_a_custom_reward_function() -> None:
    spec = importlib.util.spec_from_file_location("custom_module", verl_backend.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert assert_verl_answer(module.compute_score("ifverify", "No commas", TWO[:1])) == 1.0


def test_write_verl_parquet(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    from ifverify.data.curriculum import build_curriculum, load_bundled_seeds

    rows = build_curriculum(load_bundled_seeds()[:2], n_constraints=2, soft_ratio=0,
                            hard_ids=["punctuation.no_comma", "length.words"])
    out = tmp_path / "verl" / "train.parquet"
    assert write_verl_parquet(rows, out) == len(rows)
    table = pq.read_table(out)
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    records = table.to_pylist()
    for i, (row, record) in enumerate(zip(rows, records, strict=True)):
        assert record["data_source"] == "ifverify"
        assert record["prompt"] == [{"role": "user", "content": row["prompt"]}]
        assert record["ability"] == "instruction_following"
        assert record["reward_model"]["style"] == "rule"
        assert json.loads(record["reward_model"]["ground_truth"]) == row["constraints"]
        assert record["extra_info"] == {"id": row["id"], "level": row["level"], "seed_id": row["seed_id"],
                                        "index": i, "prompt": row["prompt"]}  # the soft verifier reads it
        # the stored ground truth is what compute_score reads
        assert_verl_answer(compute_score(record["data_source"], "x", record["reward_model"]["ground_truth"],
                                         record["extra_info"]))
    with pytest.raises(ValueError):
        write_verl_parquet([], tmp_path / "empty.parquet")


def test_compute_score__gives_the_soft_scorer_extra_info_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    from ifverify import Reward
    from ifverify.backends import verl

    seen: list[Any] = []

    class Recorder:
        def score_queries(self, queries: list[Any]) -> list[float]:
            seen.extend(queries)
            return [0.9 for _ in queries]

        def score_pairs(self, pairs: list[Any]) -> list[float]:
            return [0.9 for _ in pairs]

    monkeypatch.setattr(verl, "get_reward", lambda: Reward(classifier=Recorder()))
    soft = json.dumps([{"id": "soft.tone", "text": "Be funny."}])
    assert compute_score("ifverify", "Ha.", soft, {"prompt": "Tell a joke. Be funny."})["score"] == 0.9
    assert compute_score("ifverify", "Ha.", soft, {"index": 1})["score"] == 0.9
    assert seen == [("Be funny.", "Ha.", "Tell a joke. Be funny."), ("Be funny.", "Ha.", None)]
