"""Soft scorers get the prompt where a surface knows it: Reward (TRL's prompts, conversations too), check (the
row's prompt), OpenRLHF samples and rm eval; scorers with only score_pairs keep working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifverify import Reward
from ifverify.rewards.soft import score_queries

SOFT = {"id": "soft.tone", "text": "Write in a humorous way."}


class Recorder:
    """Scores 0.9 when it was given a prompt, 0.2 otherwise, and records every query."""

    threshold = 0.5

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []

    def score_queries(self, queries: list[tuple[str, str, str | None]]) -> list[float]:
        self.seen.extend(queries)
        return [0.9 if prompt else 0.2 for _, _, prompt in queries]

    def score_pairs(self, pairs: list[tuple[str, str]]) -> list[float]:
        return self.score_queries([(c, r, None) for c, r in pairs])


class PairsOnly:
    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str]]] = []

    def score_pairs(self, pairs: list[tuple[str, str]]) -> list[float]:
        self.calls.append(list(pairs))
        return [len(r) / 100 for _, r in pairs]


def test_score_queries__a_pair_scorer_scores_each_distinct_pair_once() -> None:
    scorer = PairsOnly()
    scores = score_queries(scorer, [("c", "ab", "p1"), ("c", "ab", "p2"), ("d", "abc", None)])
    assert scores == [0.02, 0.02, 0.03] and scorer.calls == [[("c", "ab"), ("d", "abc")]]
    assert score_queries(scorer, []) == []


def test_score_queries__a_wrong_number_of_scores_is_an_error() -> None:
    class Short:
        def score_queries(self, queries: Any) -> list[float]:
            return [0.5]

    with pytest.raises(ValueError, match="1 scores for 2 queries"):
        score_queries(Short(), [("c", "r", None), ("c", "s", None)])


def test_reward__passes_each_rows_prompt_text_to_the_scorer() -> None:
    scorer = Recorder()
    reward = Reward(classifier=scorer)
    conversation = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Tell a cat story."}]
    scores = reward(prompts=["Tell a dog story.", conversation], completions=["Woof.", "Meow."],
                    constraints=[[SOFT], [SOFT]])
    assert scores == [0.9, 0.9]
    assert ("Write in a humorous way.", "Woof.", "Tell a dog story.") in scorer.seen
    assert ("Write in a humorous way.", "Meow.", "Tell a cat story.") in scorer.seen
    assert reward(completions=["Woof."], constraints=[[SOFT]]) == [0.2]  # no prompts: None
    assert reward(prompts=[{"bad": 1}], completions=["Woof."], constraints=[[SOFT]]) == [0.2]  # no text: None


def test_reward__a_pair_scorer_still_works() -> None:
    reward = Reward(classifier=PairsOnly())
    assert reward(prompts=["p"], completions=["x" * 50], constraints=[[SOFT]]) == [0.5]


def test_check__passes_the_rows_prompt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ifverify.cli import cli

    scorer = Recorder()
    monkeypatch.setattr("ifverify.learned.scorers.load_scorer", lambda spec: scorer)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in (
        {"prompt": "Tell a story.", "response": "Once.", "constraints": [SOFT]},
        {"response": "Twice.", "constraints": [SOFT]})), encoding="utf-8")
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(cli, ["check", str(rows), "--classifier", "recorder", "--results", str(out)])
    assert result.exit_code == 0, result.output
    assert ("Write in a humorous way.", "Once.", "Tell a story.") in scorer.seen
    assert ("Write in a humorous way.", "Twice.", None) in scorer.seen
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["details"][0]["score"] for r in records] == [0.9, 0.2]


def test_openrlhf_samples__carry_their_prompts() -> None:
    from ifverify.backends.openrlhf import score_samples

    scorer = Recorder()
    reward = Reward(classifier=scorer)
    results = score_samples(reward, [("Q: tell a story. A: Once.", "Q: tell a story.", {"constraints": [SOFT]})])
    assert results[0].reward == 0.9
    assert any(prompt == "Q: tell a story." for _, _, prompt in scorer.seen)
