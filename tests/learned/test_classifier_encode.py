"""SoftClassifier.encode's quick cut gives exactly the full cut's tokens; its padding equals tokenizer.pad."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from test_classifier import build_tiny_decoder, build_tiny_model  # noqa: E402

from ifverify.learned.classifier import CHARS_PER_TOKEN, QUICK_CHARS_PER_TOKEN, SoftClassifier  # noqa: E402
from ifverify.models import default_encoder_dir  # noqa: E402

PIECES = ["the", "river", "cat", "Über", "naïve", "東京", "😀", "x" * 40, "a" * 120, "don't", "U.S.A.", "3.14",
          "http://example.com/a_b-c", " ", "  ", "\t", "\n", "\r\n", "\n\n", "\x0b", "\x0c", "\x1c", "\x85",
          "\u00a0", "\u2028", "\u200b", "\u3000", ",", ".", "!!", "--", "\x00", "e\u0301", "ǅ", "ﬁ", "Ⅻ"]


def text_from(rng: random.Random, size: int) -> str:
    parts, length = [], 0
    while length < size:
        piece = rng.choice(PIECES)
        if rng.random() < 0.6:
            piece = rng.choice(PIECES[:6]) + " "
        parts.append(piece)
        length += len(piece)
    return "".join(parts)


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SoftClassifier]:
    base = tmp_path_factory.mktemp("encode")
    tiny = build_tiny_model(base / "bert")
    found = {
        "wordpiece": SoftClassifier.load(tiny, device="cpu", max_length=32),
        "byte-level BPE": SoftClassifier.load(build_tiny_decoder(base / "decoder"), device="cpu", max_length=48),
    }
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(default_encoder_dir(), local_files_only=True)
    except Exception:  # the packaged MiniLM is an optional install
        return found
    model = AutoModelForSequenceClassification.from_pretrained(tiny, local_files_only=True)
    found["packaged MiniLM tokenizer"] = SoftClassifier(None, device="cpu", max_length=64, model=model,
                                                        tokenizer=tokenizer)
    return found


def full_cut(classifier: SoftClassifier, pairs: list[tuple[str, str]]) -> Any:
    return classifier._tokenize(pairs, classifier.max_length * CHARS_PER_TOKEN)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_quick_cut_equals_full_cut(classifiers: dict[str, SoftClassifier], seed: int) -> None:
    rng = random.Random(seed)
    for classifier in classifiers.values():
        quick = classifier.max_length * QUICK_CHARS_PER_TOKEN
        pairs = [("write about the river", text_from(rng, rng.choice([quick - 5, quick + 1, 2 * quick, 9 * quick])))
                 for _ in range(6)]
        assert classifier.encode(pairs) == full_cut(classifier, pairs)


def test_quick_cut_is_used_for_ordinary_long_text_and_refused_without_a_split_point(
        classifiers: dict[str, SoftClassifier]) -> None:
    classifier = classifiers["wordpiece"]
    quick = classifier.max_length * QUICK_CHARS_PER_TOKEN
    prose = "the river and the cat " * 40
    unbroken = "a" * (quick - 3) + " the river"  # the only space after the kept tokens lies past the cut
    results = classifier._quick_encode([("x", prose), ("x", unbroken)], quick)
    assert results[0] is not None and results[1] is None
    assert classifier.encode([("x", prose), ("x", unbroken)]) == full_cut(classifier, [("x", prose), ("x", unbroken)])


def test_real_responses_encode_as_the_full_cut(classifiers: dict[str, SoftClassifier], ifeval_dir: Path) -> None:
    import json

    with open(ifeval_dir / "input_response_data_gpt4_20231107_145030.jsonl", encoding="utf-8") as handle:
        responses = [json.loads(line)["response"] for line in handle if line.strip()]
    for classifier in classifiers.values():
        pairs = [("use a formal tone", response) for response in responses]
        assert classifier.encode(pairs) == full_cut(classifier, pairs)


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_equals_tokenizer_pad(classifiers: dict[str, SoftClassifier], side: str) -> None:
    for classifier in classifiers.values():
        rng = random.Random(7)
        features = classifier.encode([("be brief", text_from(rng, rng.randint(0, 300))) for _ in range(9)])
        classifier.tokenizer.padding_side = side
        try:
            ours = classifier._pad(features)
            theirs = classifier.tokenizer.pad(features, padding=True, return_tensors="pt")
        finally:
            classifier.tokenizer.padding_side = "right"
        assert sorted(ours) == sorted(theirs.keys())
        for key in ours:
            assert torch.equal(ours[key], theirs[key]), key
