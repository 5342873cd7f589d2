"""The pack's fast paths give exactly what the plain computations they replace give.

Character trigrams counted in numpy (long texts of ``ratio:overlap``) against the set of 3-character
slices; sentences and word tokens produced lazily (checks that can decide on an early sentence) against
the memoised lists; the two ends of the token list (``words:words_position``) against the whole list.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("ifverify_ifbench", reason="pip install -e packs/ifverify-ifbench")

from _ifbench_support import read_jsonl  # noqa: E402
from ifverify_ifbench import _base  # noqa: E402
from ifverify_ifbench.ratio import _NUMPY_FROM, Overlap  # noqa: E402

from ifverify.rewards.scoring import loose_variants  # noqa: E402

# ASCII, Latin-1, combining marks, CJK, astral emoji, lone surrogates, white space and punctuation.
ALPHABET = "aab c.\n\t-*'\"é\u0301日本\U0001f600\U0001f3fd\ud83d\udc00İſ\u2028!?"
EDGE_TEXTS = ["", " ", "Hi.", "Hi", "One. Two. Three.", "Mr. Smith went home. He slept!", "a\n\nb\n",
              "\"Quoted.\" Then (brackets.) And... more?! Yes.", "Don't stop -- can't stop. 3.5 is a number."]


def _random_texts(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    lengths = [0, 1, 2, 3, 4, _NUMPY_FROM - 1, _NUMPY_FROM, _NUMPY_FROM + 1, 500, 3000]
    return ["".join(rng.choice(ALPHABET) for _ in range(lengths[i % len(lengths)])) for i in range(count)]


def _responses() -> list[str]:
    texts = [row["response"] for row in read_jsonl("sample_output.jsonl")]
    return [variant for text in texts[::7] for variant in loose_variants(text)]


@pytest.mark.parametrize("text", _random_texts(60) + _responses()[:80])
def test_char_codes__one_code_per_distinct_trigram(text: str) -> None:
    grams = Overlap._char_grams(text)
    reference = Overlap._char_grams(text[::-1] + "xyz")
    codes = Overlap._char_codes(text)
    assert codes.size == len(grams)
    both = Overlap._char_codes(text[::-1] + "xyz")
    assert np.intersect1d(codes, both, assume_unique=True).size == len(grams & reference)


@pytest.mark.parametrize("text", _random_texts(40, seed=11) + _responses()[:40])
def test_overlap__share_is_the_set_computation(text: str) -> None:
    reference = _responses()[0][:400]
    overlap = Overlap({"reference_text": reference, "percentage": 50, "semantics": "ifbench"})
    grams, ref = Overlap._char_grams(text), Overlap._char_grams(reference)
    expected = len(grams & ref) / len(grams) if grams else None
    assert overlap._share(text) == expected


@pytest.mark.parametrize("text", EDGE_TEXTS + _responses())
def test_lazy_sentences_and_tokens__same_as_the_lists(text: str) -> None:
    assert tuple(_base.iter_sentences(text)) == _base.sentences(text)
    tokens = _base.word_tokens(text)
    assert list(_base.lazy_word_tokens(text)) == tokens
    for head, tail in ((2, 3), (1, 1), (5, 0), (0, 4)):
        first, last = _base.end_tokens(text, head, tail)
        assert first[:head] == tokens[:head] and len(first) >= min(head, len(tokens))
        assert len(last) >= min(tail, len(tokens)) and (tail == 0 or last[-tail:] == tokens[-tail:])
        if len(first) < head or len(last) < tail:
            assert first == last == tokens
