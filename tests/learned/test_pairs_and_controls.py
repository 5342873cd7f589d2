"""Training pairs (group split, checker labels, extra pairs), calibration metrics and the evaluation controls."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from ifverify.learned.controls import evaluate_with_controls, logistic_fit, shuffled_texts
from ifverify.learned.metrics import balanced_accuracy, expected_calibration_error, fit_temperature
from ifverify.learned.pairs import LabelledPair, checker_labels, extend_pairs, split_pairs

NO_COMMA = {"id": "punctuation.no_comma", "params": {}}


def task(group: str, text: str, good: str, bad: str, context: tuple[str, ...] = ()) -> list[LabelledPair]:
    return [LabelledPair(1, text, good, 1, group=group, kind="soft", constraint_id="soft.tone", context=context),
            LabelledPair(2, text, bad, 0, group=group, kind="soft", constraint_id="soft.tone", context=context)]


def test_split_pairs__the_two_pairs_of_a_task_never_straddle() -> None:
    pairs = [p for i in range(300) for p in task(f"t{i}", f"be {i}", f"good {i}", f"bad {i}")]
    train_part, held_out = split_pairs(pairs, 0.3, seed=0)
    assert {p.group for p in train_part}.isdisjoint({p.group for p in held_out})
    assert 0.2 < len(held_out) / len(pairs) < 0.4


def test_checker_labels__hard_pseudo_labels_become_checker_verdicts() -> None:
    pairs = [LabelledPair(1, "no commas", "a, b", 1, kind="hard", spec=NO_COMMA),  # wrong pseudo-label
             LabelledPair(2, "no commas", "a b", 1, kind="hard", spec=NO_COMMA),
             LabelledPair(3, "be warm", "a, b", 0, kind="soft")]
    relabelled, changed = checker_labels(pairs)
    assert [p.label for p in relabelled] == [0, 1, 0] and changed == 1


def test_extend_pairs__context_positives_and_shuffle_negatives() -> None:
    pairs = (task("a", "Be funny.", "joke A", "plain A", context=("Play a pirate.",))
             + task("b", "Be formal.", "formal B", "slangy B") + task("c", "Be brief.", "brief C", "long C"))
    extended = extend_pairs(pairs, seed=0, shuffle_negatives=1)
    extra = extended[len(pairs):]
    context = [p for p in extra if p.label == 1]
    assert {(p.constraint_text, p.response) for p in context} == {("Play a pirate.", "joke A"),
                                                                   ("Play a pirate.", "plain A")}
    negatives = [p for p in extra if p.label == 0]
    assert len(negatives) == 3  # one per soft positive
    for p in negatives:
        source = next(q for q in pairs if q.response == p.response)
        assert p.constraint_text not in (source.constraint_text, *source.context)
        assert p.group == source.group
    assert extend_pairs(pairs, seed=0, shuffle_negatives=1) == extended  # deterministic
    assert extend_pairs(pairs, seed=0, shuffle_negatives=0, context_positives=False) == pairs


def test_balanced_accuracy_and_ece__by_hand() -> None:
    scores, labels = [0.9, 0.6, 0.4, 0.2], [1, 0, 1, 0]
    assert balanced_accuracy(scores, labels) == pytest.approx(0.5)  # TPR 1/2, TNR 1/2
    # bins: 0.9 -> [0.9,1] rate 1; 0.6 -> [0.6,0.7) rate 0; 0.4 -> rate 1; 0.2 -> rate 0
    assert expected_calibration_error(scores, labels) == pytest.approx((0.1 + 0.6 + 0.6 + 0.2) / 4)
    assert balanced_accuracy([0.5], [1]) is None


def test_fit_temperature__recovers_the_temperature_that_made_the_labels() -> None:
    generator = np.random.default_rng(0)  # a local generator: no global random state is touched
    logits = generator.normal(0, 4, 20000)
    labels = (generator.random(20000) < 1 / (1 + np.exp(-logits / 2.0))).astype(int)
    assert fit_temperature(list(logits), list(labels)) == pytest.approx(2.0, rel=0.05)
    assert fit_temperature([1.0, 2.0], [1, 1]) == 1.0


def test_logistic_fit__sign_follows_the_data() -> None:
    w, _ = logistic_fit([1, 2, 3, 4, 5, 6], [0, 0, 1, 0, 1, 1])
    assert w > 0
    w, _ = logistic_fit([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 0, 0])
    assert w < 0


def _tasks(n: int) -> list[LabelledPair]:
    rng = random.Random(0)
    words = ["ocean", "forest", "desert", "city", "moon", "river", "castle", "garden"]
    out = []
    for i in range(n):
        topic = words[i % len(words)]
        other = words[(i + 3) % len(words)]
        long_pad = " filler" * rng.randint(0, 30)
        out += task(f"g{i}", f"Mention the {topic}.", f"We saw the {topic}{long_pad}.", f"We saw the {other}.")
    return out


def reads_constraint(queries):  # type: ignore[no-untyped-def]
    return [1.0 if text.split()[-1].rstrip(".") in response else 0.0 for text, response, _ in queries]


def response_only(queries):  # type: ignore[no-untyped-def]
    return [min(1.0, len(response) / 200) for _, response, _ in queries]


def test_controls__a_scorer_that_reads_the_constraint_passes_the_shuffle() -> None:
    pairs = _tasks(40)
    report = evaluate_with_controls(reads_constraint, pairs)
    assert report.overall.roc_auc == 1.0 and report.shuffle_roc_auc == 1.0 and report.shuffle_pairs == 40
    assert report.per_type["soft.tone"].n == 80 and report.per_kind["soft"].positives == 40
    assert report.length_roc_auc is not None and report.length_roc_auc > 0.6  # positives carry the padding


def test_controls__a_response_only_scorer_fails_the_shuffle() -> None:
    pairs = _tasks(40)
    report = evaluate_with_controls(response_only, pairs, blind_score=response_only)
    assert report.shuffle_roc_auc == 0.5  # the same response scores the same under any constraint
    assert report.blind_roc_auc == report.overall.roc_auc
    table = report.render_table()
    assert "constraint shuffle  0.500" in table and "kind soft" in table


def test_shuffled_texts__never_the_own_task() -> None:
    pairs = _tasks(10)
    for pair, text in shuffled_texts(pairs):
        assert text != pair.constraint_text
        assert all(p.group != pair.group for p in pairs if p.constraint_text == text)
    assert math.isclose(len(shuffled_texts(pairs)), 10)
