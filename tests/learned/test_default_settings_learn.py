"""The trainer's default settings learn on the packaged encoder with a fresh head; the old defaults did not.

A small separable set: "Write about <topic>." is satisfied when the response talks about that topic, and each
task has a positive and a negative (the same shape as the paper's pairs).  Slow: it fine-tunes the real MiniLM.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from ifverify.learned.training import train

TOPICS = {"the ocean": "waves tide salt fish coral shore boats",
          "the forest": "trees leaves moss owls pine branches trail",
          "the city": "streets traffic towers subway crowds lights shops",
          "the desert": "sand dunes heat cactus camels dry mirage",
          "space": "stars planets rockets orbit galaxy astronauts moon",
          "cooking": "pan oven recipe garlic butter simmer knife"}


def separable_rows(tasks: int) -> list[dict[str, Any]]:
    rng = random.Random(0)
    rows = []
    names = sorted(TOPICS)
    for i in range(tasks):
        topic = names[i % len(names)]
        other = names[(i + 1 + rng.randrange(len(names) - 1)) % len(names)]
        for label, subject in ((1, topic), (0, other)):
            words = TOPICS[subject].split()
            text = f"Here is a short note. {' '.join(rng.choice(words) for _ in range(8))}."
            rows.append({"seed_id": f"t{i}", "kind": "soft", "constraint_text": f"Write about {topic}.",
                         "response": text, "label": label})
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("separable") / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in separable_rows(90)), encoding="utf-8")
    return path


@pytest.mark.slow
def test_default_settings__the_loss_falls_and_held_out_pairs_separate(data: Path, tmp_path: Path) -> None:
    report = train(data, tmp_path / "out", max_length=48, epochs=4, checkpoint_every=0, progress=False,
                   threads=2, eval_fraction=0.25)
    losses = [h["train_loss"] for h in report.history]
    assert losses[-1] < 0.8 * losses[0], losses
    assert report.eval is not None and report.eval.roc_auc is not None and report.eval.roc_auc >= 0.9
    assert (tmp_path / "out" / "delta.safetensors").is_file()


@pytest.mark.slow
def test_old_defaults__one_small_learning_rate_leaves_a_fresh_head_at_chance(data: Path, tmp_path: Path) -> None:
    """The trainer's old settings (lr 5e-6 for the head and the encoder alike): the loss stays near ln 2."""
    report = train(data, tmp_path / "out", max_length=48, epochs=2, checkpoint_every=0, progress=False,
                   threads=2, eval_fraction=0.25, lr=5e-6, head_lr=5e-6, train_layers=None, class_balance=False,
                   shuffle_negatives=0, context_positives=False)
    losses = [h["train_loss"] for h in report.history]
    assert all(abs(loss - 0.693) < 0.03 for loss in losses), losses
