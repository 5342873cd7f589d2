"""The feature verifier without the real encoder: its features, its two heads, persistence and training.

A hashed bag-of-words embedding stands in for MiniLM (two texts are close when they share words), so these tests
are fast; the packaged model is tested in test_default_verifier.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ifverify.learned import feature_verifier as fv
from ifverify.learned.feature_training import train_features
from ifverify.learned.features import (
    PLAIN_FEATURES,
    PROMPT_FEATURES,
    chunks,
    lexical_features,
    query_features,
    task_text,
)


def bag_of_words(model: Any, tokenizer: Any, texts: list[str], *, max_length: int, batch_size: int = 32) -> Any:
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            out[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % 384] += 1.0
        out[row] /= max(float(np.linalg.norm(out[row])), 1e-9)
    return out


@pytest.fixture(autouse=True)
def fake_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fv, "embed", bag_of_words)
    monkeypatch.setattr(fv.FeatureVerifier, "_ensure_loaded", lambda self: None)


# -- features ------------------------------------------------------------------------------------------------
def test_chunks__merge_sentences_up_to_the_size_and_stop_at_the_limit() -> None:
    text = "One two three. Four five six! Seven eight?\nNine ten."
    assert chunks(text, limit=8, size=30) == ["One two three. Four five six!", "Seven eight? Nine ten."]
    assert chunks(text, limit=1, size=10) == ["One two three."]
    assert chunks("", limit=8) == [""] and chunks(" \n\n ", limit=8) == [""]
    many = chunks("word. " * 2_000_000, limit=8, size=300)  # 12 MB: only the first 4 * 8 * 300 characters are read
    assert len(many) == 8 and all(len(c) <= 300 for c in many)


def test_task_text__removes_the_constraint_verbatim_or_ignoring_case_and_spacing() -> None:
    assert task_text("Summarise this. Be funny.", "Be funny.") == "Summarise this.  "
    assert task_text("Summarise this.\nBE   funny.", "Be funny.") == "Summarise this.  "
    assert task_text("Summarise this.", "Be funny.") == "Summarise this."
    assert task_text("Summarise this.", "  ") == "Summarise this."


def test_lexical_features__novel_words_are_the_constraint_words_the_task_does_not_use() -> None:
    constraint = "Use medical humour throughout."
    response = "A medical joke: the humour of doctors."
    plain = lexical_features(constraint, response)
    assert plain["ov"] == pytest.approx(2 / 3) and plain["nwords"] == pytest.approx(math.log1p(3))
    with_task = lexical_features(constraint, response, task="Explain this medical abstract.")
    assert with_task["novshare"] == pytest.approx(2 / 3)  # "medical" is the task's word
    assert with_task["on"] == pytest.approx(1 / 2)  # of humour and throughout, humour is used
    assert lexical_features("", "anything")["ov"] == 0.0  # no content words: no division by zero


def test_encodable__replaces_lone_surrogates_only() -> None:
    from ifverify.learned.features import encodable

    assert encodable("a \ud800 b \udfff") == "a ? b ?"
    assert encodable("héllo 😀") == "héllo 😀"


def test_query_features__names_match_the_heads() -> None:
    c = np.eye(4)[0]
    response_chunks, task_chunks = np.eye(4)[[0, 1]], np.eye(4)[[1, 2]]
    with_task = query_features("be funny", "ha", "task", c, response_chunks, task_chunks)
    assert set(PROMPT_FEATURES) <= set(with_task)
    without = query_features("be funny", "ha", None, c, response_chunks, None)
    assert set(PLAIN_FEATURES) <= set(without) and "dcos" not in without
    assert with_task["mx"] == pytest.approx(1.0) and with_task["gapmx"] == pytest.approx(1.0)
    assert with_task["rt"] == pytest.approx(0.5)  # mean chunks (1,1,0,0)/sqrt2 and (0,1,1,0)/sqrt2


# -- the verifier --------------------------------------------------------------------------------------------
def _verifier(prompt_head: bool = True) -> fv.FeatureVerifier:
    rng = np.random.default_rng(0)
    heads = {}
    for name in ("prompt", "plain") if prompt_head else ("plain",):
        n = len(fv.HEADS[name]) + 2
        heads[name] = fv.Head(fv.HEADS[name], rng.normal(size=n), 0.1, np.zeros(n), np.ones(n), 1.5)
    return fv.FeatureVerifier(heads, np.zeros(384), rng.normal(size=(2, 384)))


def test_verifier__the_prompt_picks_the_head_and_scores_are_probabilities() -> None:
    verifier = _verifier()
    queries = [("Be funny.", "A joke about cats.", "Write about cats. Be funny."), ("Be funny.", "A joke.", None)]
    scores = verifier.score_queries(queries)
    assert all(0.0 < s < 1.0 for s in scores)
    assert verifier.score_pairs([("Be funny.", "A joke.")]) == [scores[1]]
    features = verifier.features(queries)
    for name, i in (("prompt", 0), ("plain", 1)):
        z = verifier.heads[name].logits(verifier.matrix(name, [features[i]]))[0] / verifier.heads[name].temperature
        assert scores[i] == pytest.approx(1 / (1 + math.exp(-z)))
    no_prompt_head = _verifier(prompt_head=False)
    assert no_prompt_head.head_for(queries[0]) == "plain"
    assert verifier.score_queries([]) == []


def test_verifier__rejects_bad_queries_by_index() -> None:
    with pytest.raises(TypeError, match="query 1 must be"):
        _verifier().score_queries([("c", "r", None), ("c", 3)])


def test_verifier__round_trips_and_rejects_the_old_format(tmp_path: Path) -> None:
    verifier = _verifier()
    queries = [("Be funny.", "A joke about cats.", "Write about cats. Be funny."), ("Be brief.", "Short.", None)]
    verifier.save(tmp_path / "m")
    loaded = fv.FeatureVerifier.load(tmp_path / "m")
    assert loaded.score_queries(queries) == pytest.approx(verifier.score_queries(queries), abs=1e-6)
    assert fv.is_feature_verifier(tmp_path / "m")
    data = json.loads((tmp_path / "m" / fv.METADATA_FILE).read_text())
    data.pop("format")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / fv.METADATA_FILE).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format 1.*retrain it with `ifverify rm train"):
        fv.FeatureVerifier.load(tmp_path / "old")


# -- training ------------------------------------------------------------------------------------------------
STYLES = ["Be humorous with jokes.", "Use formal academic vocabulary.", "Write as a pirate captain.",
          "Include a cooking recipe analogy.", "Mention the ocean and waves."]
MARKERS = ["jokes humorous laugh", "academic formal vocabulary", "pirate captain arr", "cooking recipe analogy",
           "ocean waves tide"]
TOPICS = ["cats", "taxes", "trains", "volcanoes", "gardens", "chess", "rivers", "bread", "clocks", "maps"]


def _pairs(path: Path, prompts: bool) -> Path:
    rows = []
    for t, topic in enumerate(TOPICS * 4):
        s = (t * 3) % len(STYLES)
        base = f"An answer about {topic}. It explains {topic} in plain words."
        for label, response in ((1, f"{base} {MARKERS[s]}."), (0, base)):
            row = {"seed_id": f"task-{t}", "kind": "soft", "constraint_text": STYLES[s], "response": response,
                   "label": label}
            if prompts:
                row["prompt"] = f"Tell me about {topic}. {STYLES[s]}"
            rows.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_train_features__both_heads_learn_and_the_model_reads_prompts(tmp_path: Path) -> None:
    report = train_features(_pairs(tmp_path / "pairs.jsonl", prompts=True), tmp_path / "m", eval_fraction=0.25,
                            components=2)
    assert set(report.loss_history) == {"prompt", "plain"}
    for history in report.loss_history.values():
        assert history[0] == pytest.approx(math.log(2), abs=1e-6) and history[-1] < 0.3
    assert report.validation["soft"]["roc_auc"] == 1.0
    assert report.validation["soft_without_prompt"]["roc_auc"] == 1.0
    saved = json.loads((tmp_path / "m" / fv.METADATA_FILE).read_text())
    assert saved["training"]["train_pairs_with_prompt"] == report.train_size
    assert len(saved["prior"]["components"]) == 2


def test_train_features__pairs_without_prompts_make_a_plain_only_verifier(tmp_path: Path) -> None:
    train_features(_pairs(tmp_path / "pairs.jsonl", prompts=False), tmp_path / "m", eval_fraction=0.25,
                   components=2)
    verifier = fv.FeatureVerifier.load(tmp_path / "m")
    assert set(verifier.heads) == {"plain"}
    assert verifier.score_queries([("Be humorous with jokes.", "jokes humorous laugh", "a prompt")])[0] > 0.5
