"""The Reward protocol, called exactly as TRL's GRPOTrainer calls reward functions."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from pathlib import Path

import pytest

from ifverify.constraints.base import SoftConstraint
from ifverify.constraints.registry import Registry
from ifverify.rewards.reward import ClassifierError, Reward
from ifverify.verifiers import hard_types

NO_COMMA = {"id": "punctuation.no_comma"}
WORDS_3 = {"id": "length.words", "params": {"relation": "at least", "num_words": 3}}
SOFT = {"id": "test.tone", "text": "Use a cheerful tone."}


class _Tone(SoftConstraint):
    id = "test.tone"
    family = "test"


def _registry_with_soft() -> Registry:
    registry = Registry()
    for cls in [*hard_types(), _Tone]:
        registry.register(cls)
    return registry


def trl_call(reward: Reward, completions: list, **columns: object) -> list[float | None]:
    """Keywords only, with the extra arguments TRL passes."""
    metrics: dict[str, float] = {}
    return reward(prompts=["p"] * len(completions), completions=completions,
                  completion_ids=[[1, 2]] * len(completions), trainer_state=object(),
                  log_metric=metrics.__setitem__, log_extra=lambda column, values: None, **columns)


def test_mean__is_the_papers_reward() -> None:
    reward = Reward()
    out = trl_call(reward, ["one two three", "one, two"], constraints=[[NO_COMMA, WORDS_3]] * 2)
    assert out == [1.0, 0.0]
    assert trl_call(reward, ["one two, three"], constraints=[[NO_COMMA, WORDS_3]]) == [0.5]


def test_all__is_ifeval_prompt_level() -> None:
    out = trl_call(Reward(aggregation="all"), ["one two, three"], constraints=[[NO_COMMA, WORDS_3]])
    assert out == [0.0]


def test_weighted__weights_by_id() -> None:
    reward = Reward(aggregation="weighted", weights={"punctuation.no_comma": 3.0})
    assert trl_call(reward, ["one two, three"], constraints=[[NO_COMMA, WORDS_3]]) == [0.25]


def test_ifeval_columns__instruction_id_list_and_kwargs_with_none() -> None:
    ids = [["punctuation:no_comma", "length_constraints:number_words"]]
    out = trl_call(Reward(), ["hello world"], instruction_id_list=ids,
                   kwargs=[[None, {"relation": "less than", "num_words": 5, "keyword": None}]])
    assert out == [1.0]


def test_loose_mode__strips_markdown_first_line() -> None:
    text = "Sure, here it is:\nthe answer is all lowercase"
    spec = [{"id": "case.whole", "params": {"case": "lower"}}]
    assert trl_call(Reward(mode="strict"), [text], constraints=[spec]) == [0.0]
    assert trl_call(Reward(mode="loose"), [text], constraints=[spec]) == [1.0]


def test_conversational_completions__use_the_assistant_content() -> None:
    completions = [[{"role": "assistant", "content": "no commas at all"}]]
    assert trl_call(Reward(), completions, constraints=[[NO_COMMA]]) == [1.0]


def test_constraints_column__may_be_a_json_string() -> None:
    assert trl_call(Reward(), ["a b c"], constraints=['[{"id": "punctuation.no_comma"}]']) == [1.0]


def test_row_without_constraints__is_not_applicable() -> None:
    assert trl_call(Reward(), ["x"], constraints=[[]]) == [None]


@pytest.mark.parametrize("on_error, expected", [("none", None), ("zero", 0.0)])
def test_bad_row__becomes_none_or_zero_counted_and_logged_once(on_error: str, expected: float | None,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    reward = Reward(on_error=on_error)
    metrics: dict[str, float] = {}
    with caplog.at_level(logging.WARNING, logger="ifverify.reward"):
        out = reward(prompts=["p"] * 3, completions=["a", "b", "c"], log_metric=metrics.__setitem__,
                     constraints=[[{"id": "nope.nope"}], [NO_COMMA], [{"id": "length.words", "params": {}}]])
    assert out == [expected, 1.0, expected]
    assert reward.failures == 2
    assert metrics == {f"ifverify/{reward.__name__}/failures": 2.0}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unknown constraint id 'nope.nope'" in warnings[0].getMessage()


def test_checker_crash__never_reaches_the_trainer(monkeypatch: pytest.MonkeyPatch) -> None:
    from ifverify.verifiers.punctuation import NoComma

    def boom(self: object, text: str) -> bool:
        raise RuntimeError("checker bug")

    monkeypatch.setattr(NoComma, "check", boom)
    reward = Reward()
    assert trl_call(reward, ["text"], constraints=[[NO_COMMA]]) == [None]
    assert reward.failures == 1


def test_soft_without_classifier__fails_the_sample_not_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    reward = Reward(registry=_registry_with_soft())
    out = trl_call(reward, ["hi", "hi"], constraints=[[SOFT], [NO_COMMA]])
    assert out == [None, 1.0]
    assert "soft constraints need a classifier (Reward(classifier=...)" in caplog.text


@pytest.mark.parametrize("aggregation, text, expected", [
    ("mean", "one two three", 1.0), ("mean", "one, two", 0.0), ("all", "one two three", 1.0),
    ("all", "one, two three", 0.0)])
def test_soft_without_classifier__mixed_row_keeps_its_hard_verdicts(aggregation: str, text: str,
                                                                     expected: float) -> None:
    reward = Reward(aggregation=aggregation, registry=_registry_with_soft())
    assert trl_call(reward, [text], constraints=[[NO_COMMA, SOFT, WORDS_3]]) == [expected]
    [result] = reward.score_batch(completions=[text], constraints=[[NO_COMMA, SOFT, WORDS_3]])
    soft = result.results[1].to_dict()
    assert (soft["id"], soft["score"], soft["verdict"], soft["unscored"]) == ("test.tone", None, None, True)
    assert soft["reason"].startswith("unscored: soft constraints need a classifier (Reward(classifier=...)")
    assert result.error is None and "unscored" not in result.results[0].to_dict()
    assert reward.failures == 0 and reward.unscored == 2


def test_soft_without_classifier__hint_names_the_surfaces_knob() -> None:
    reward = Reward(registry=_registry_with_soft(), classifier_hint="--classifier SPEC")
    [result] = reward.score_batch(completions=["hi"], constraints=[[SOFT]])
    assert result.results[0].reason == "unscored: soft constraints need a classifier (--classifier SPEC)"
    assert "Reward(classifier" not in (result.error or "")


class _Classifier:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.calls.append(len(pairs))
        return [0.8 if "cheerful" in text else 0.1 for text, _ in pairs]


def test_soft_scores__batched_into_one_classifier_call() -> None:
    classifier = _Classifier()
    reward = Reward(classifier=classifier, registry=_registry_with_soft())
    other = {"id": "test.tone", "text": "Sound gloomy."}
    out = trl_call(reward, ["a", "b", "c"], constraints=[[SOFT, NO_COMMA], [other], [SOFT, other]])
    # one probe pair at construction, then one call for the batch's 4 distinct (text, response) pairs
    assert classifier.calls == [1, 4]
    assert out == pytest.approx([0.9, 0.1, 0.45])


def test_classifier_path_missing__clear_error_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match=r"^cannot load the classifier '.*nowhere'"):
        Reward(classifier=str(tmp_path / "nowhere"))


class _Broken:
    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        raise RuntimeError("weights missing")


def test_broken_classifier__clear_error_at_construction() -> None:
    with pytest.raises(ClassifierError, match="the classifier failed on a probe pair: RuntimeError: weights missing"):
        Reward(classifier=_Broken())
    with pytest.raises(ClassifierError, match="must have score_pairs"):
        Reward(classifier=42)  # type: ignore[arg-type]


def test_threshold__defaults_to_the_classifiers_own() -> None:
    classifier = _Classifier()
    classifier.threshold = 0.7  # type: ignore[attr-defined]
    assert Reward(classifier=classifier).threshold == 0.7
    assert Reward(classifier=classifier, threshold=0.2).threshold == 0.2
    assert Reward().threshold == 0.5


def test_mismatched_columns__are_ignored_not_misaligned() -> None:
    assert trl_call(Reward(), ["a b c", "d"], constraints=[[NO_COMMA], [WORDS_3]], extra=["only one"]) == [1.0, 0.0]


def test_reward__pickles_with_a_stable_name() -> None:
    reward = Reward(aggregation="all", mode="loose")
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == reward.__name__ == "ifverify_all_loose"
    assert trl_call(clone, ["a b c"], constraints=[[NO_COMMA]]) == [1.0]


def test_batch_api__per_constraint_score_verdict_reason() -> None:
    [result] = Reward().score_batch(completions=["one, two"], constraints=[[NO_COMMA, WORDS_3]])
    assert [(r.id, r.score, r.verdict) for r in result.results] == [
        ("punctuation.no_comma", 0.0, False), ("length.words", 0.0, False)]
    assert result.results[0].reason.startswith("1 comma(s); expected:")
    assert result.results[1].reason.startswith("2 word(s); expected: Answer with at least 3 words")


@pytest.mark.parametrize("kwargs, message", [
    ({"aggregation": "median"}, "aggregation must be one of mean, all, weighted"),
    ({"mode": "lenient"}, "mode must be one of strict, loose"),
    ({"on_error": "raise"}, "on_error must be 'none' or 'zero'"),
    ({"aggregation": "weighted"}, "aggregation 'weighted' needs weights"),
])
def test_configuration_errors__raise_at_construction(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Reward(**kwargs)
