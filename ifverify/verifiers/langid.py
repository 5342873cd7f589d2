"""Exact, fast, side-effect-free reimplementation of ``langdetect.detect`` (langdetect 1.0.9, seed 0).

``detect(text)`` returns exactly what this returns (or raises where it raises)::

    from langdetect import DetectorFactory, detect
    DetectorFactory.seed = 0
    detect(text)

The rules reproduced, in langdetect's order:

1. ``https?://...`` URLs and e-mail addresses are replaced by a space (langdetect's own regexes), the
   Vietnamese letter + combining-mark pairs are folded into precomposed letters (langdetect's own
   ``NGram.normalize_vi``), and only the first 10,000 characters of the result are kept.
2. Cleaning: characters ``'A' <= ch <= 'z'`` are Latin; *every* character ``>= U+0300`` is non-Latin
   (langdetect compares a block number with a block name, so Latin Extended Additional is counted too).
   If ``2 * latin < non_latin`` all ``'A'..'z'`` characters are deleted.
3. Each character is normalised with langdetect's ``NGram.normalize`` (punctuation and digits become
   spaces, kana/hangul/CJK classes collapse, ...). The text is cut at spaces into words; for a word ``w``
   the 1-, 2- and 3-grams ending at each position of ``" " + w`` (plus ``" "`` when a space follows) are
   kept, except the lone space and except at a character that is upper case right after an upper-case
   one. Only n-grams present in some profile count; if none remains, langdetect raises ("No features").
4. Seven trials share one ``random.Random(0)``: ``alpha = 0.5 + gauss(0, 1) * 0.05``; starting from the
   uniform vector, each step multiplies every language's probability by ``alpha / 10000 + p(ngram)`` for
   an n-gram drawn with ``choice``; after step 0 and every 5th step the vector is divided by its Python
   ``sum`` and the trial stops once the largest share exceeds 0.99999 or step 1000 is reached. The
   average of the seven vectors is scanned in profile order (``os.listdir`` of langdetect's profile
   folder); the first language with the highest share above 0.1 wins, else ``"unknown"``.

Speed comes from building the per-language vector of an n-gram only when it is first seen, caching word
n-grams and character normalisation, and doing the vector arithmetic with numpy float64 (element-wise
products and quotients are bit-identical; sums stay Python's sequential ``sum``). Nothing global is
touched: no ``DetectorFactory.seed``, no module-level ``random``. Profiles load lazily on first use.
"""

from __future__ import annotations

import functools
import os
import random
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["LanguageDetectionError", "detect", "detect_or_none"]

_SEED = 0
_N_TRIAL = 7
_ALPHA_DEFAULT = 0.5
_ALPHA_WIDTH = 0.05
_ITERATION_LIMIT = 1000
_PROB_THRESHOLD = 0.1
_CONV_THRESHOLD = 0.99999
_BASE_FREQ = 10000
_MAX_TEXT_LENGTH = 10000
_BLOCK = 5  # langdetect normalises after step 0 and then after every 5th step
_UNKNOWN = "unknown"
_CACHE_LIMIT = 200_000  # entries per internal cache before it is cleared


class LanguageDetectionError(ValueError):
    """Raised where ``langdetect.detect`` raises ``LangDetectException`` (e.g. "No features in text.")."""


def _json_loads() -> Callable[[bytes], Any]:
    """orjson's ``loads`` when installed (same values as ``json`` on these files, ~2x faster), else json's."""
    try:
        import orjson
    except ImportError:
        import json

        return json.loads
    return orjson.loads


class _Model:
    """Profiles plus lazily grown caches; all mutation happens under ``self.lock``."""

    def __init__(self) -> None:
        import numpy
        from langdetect.detector import Detector
        from langdetect.detector_factory import PROFILES_DIRECTORY
        from langdetect.utils.ngram import NGram

        self.np = numpy
        self.url_sub: Callable[[str, str], str] = Detector.URL_RE.sub
        self.mail_sub: Callable[[str, str], str] = Detector.MAIL_RE.sub
        self.normalize_vi: Callable[[str], str] = NGram.normalize_vi
        self.normalize_char: Callable[[str], str] = NGram.normalize
        self.latin_sub = re.compile("[A-z]").sub  # code points 'A'..'z' (with [\\]^_`), as langdetect tests
        self.non_latin_sub = re.compile("[^\x00-\u02ff]").sub  # ch >= U+0300
        self.langs: list[str] = []
        self.freqs: list[dict[str, int]] = []
        self.n_words: list[list[int]] = []
        loads = _json_loads()
        for name in os.listdir(PROFILES_DIRECTORY):  # the very listing (and order) langdetect uses
            path = os.path.join(PROFILES_DIRECTORY, name)
            if name.startswith(".") or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                profile = loads(handle.read())
            self.langs.append(profile["name"])
            self.freqs.append(profile["freq"])
            self.n_words.append(profile["n_words"])
        self.denominators = numpy.array(self.n_words, dtype=numpy.float64).T.copy()  # [n - 1, language]
        self.lock = threading.Lock()
        self.matrix: NDArray[np.float64] = numpy.empty((4096, len(self.langs)))
        self.n_rows = 0
        self.rows: dict[str, int] = {}  # n-gram -> matrix row (at most one per profile n-gram)
        self.missing: set[str] = set()  # n-grams of no profile
        self.words: dict[str, tuple[int, ...]] = {}  # word (+ " " if a space follows) -> n-gram rows
        self.table: dict[int, str] = {}  # code point -> normalised character, for every seen character
        self._learn_chars({chr(code) for code in range(128)})
        self.inline_draws = _inline_draws_match_choice()

    def _learn_chars(self, chars: set[str]) -> None:
        for ch in chars:
            self.table[ord(ch)] = self.normalize_char(ch)

    def _new_row(self, gram: str) -> int:
        """Store ``gram``'s per-language probabilities (``count / n_words[len - 1]``); its row, or -1."""
        if gram in self.missing:
            return -1
        counts = [freq.get(gram) for freq in self.freqs]
        if counts.count(None) == len(counts):  # in no profile: langdetect drops it
            self.missing.add(gram)
            return -1
        if self.n_rows == len(self.matrix):
            grown = self.np.empty((2 * len(self.matrix), len(self.langs)))
            grown[: self.n_rows] = self.matrix
            self.matrix = grown
        row = self.matrix[self.n_rows]
        row[:] = [0 if count is None else count for count in counts]
        row /= self.denominators[len(gram) - 1]  # IEEE division: same as langdetect's 1.0 * count / n
        self.rows[gram] = self.n_rows
        self.n_rows += 1
        return self.n_rows - 1

    def _word_rows(self, key: str) -> tuple[int, ...]:
        """Rows of the known n-grams of one word, in langdetect's order (position, then n = 1, 2, 3)."""
        padded = " " + key
        grams: list[str] = []
        prev_upper = False
        for end in range(1, len(padded)):
            upper = padded[end].isupper()
            if upper and prev_upper:  # langdetect's "capital word": no n-gram ends here
                continue
            prev_upper = upper
            if padded[end] != " ":
                grams.append(padded[end])
            grams.append(padded[end - 1 : end + 1])
            if end > 1:
                grams.append(padded[end - 2 : end + 1])
        found: list[int] = []
        get = self.rows.get
        for gram in grams:
            row = get(gram)
            if row is None:
                row = self._new_row(gram)
            if row >= 0:
                found.append(row)
        return tuple(found)

    def features(self, text: str) -> tuple[list[int], NDArray[np.float64]]:
        """Rows of every n-gram of the cleaned ``text`` in order, with a snapshot of the matrix."""
        with self.lock:
            if not text.isascii():
                self._learn_chars({ch for ch in set(text) if ord(ch) not in self.table})
            if len(self.words) > _CACHE_LIMIT:
                self.words.clear()
            if len(self.missing) > _CACHE_LIMIT:
                self.missing.clear()
            pieces = text.translate(self.table).split(" ")
            last = len(pieces) - 1
            found: list[int] = []
            for index, word in enumerate(pieces):
                if word:
                    key = word + " " if index < last else word
                    rows = self.words.get(key)
                    if rows is None:
                        self.words[key] = rows = self._word_rows(key)
                    found.extend(rows)
            return found, self.matrix

    def clean(self, text: str) -> str:
        """Steps 1 and 2 of the module docstring: URL/mail removal, Vietnamese folding, cut, cleaning."""
        if "http" in text:
            text = self.url_sub(" ", text)
        if "@" in text:
            text = self.mail_sub(" ", text)
        if text.isascii():
            return text[:_MAX_TEXT_LENGTH]
        text = self.normalize_vi(text)[:_MAX_TEXT_LENGTH]
        without_latin = self.latin_sub("", text)
        latin = len(text) - len(without_latin)
        non_latin = len(text) - len(self.non_latin_sub("", text))
        return without_latin if latin * 2 < non_latin else text


_MODEL: _Model | None = None
_MODEL_LOCK = threading.Lock()


def _model() -> _Model:
    """The process-wide model, built once (thread-safe) on first use."""
    global _MODEL
    if _MODEL is None:
        with _MODEL_LOCK:
            if _MODEL is None:
                _MODEL = _Model()
    return _MODEL


def _inline_draws_match_choice() -> bool:
    """Whether ``Random.choice`` still equals its documented ``getrandbits`` rejection loop here."""
    for size in (1, 2, 3, 7, 8, 100, 1000, 4096, 12345):
        reference, mine = random.Random(size), random.Random(size)
        bits = size.bit_length()
        for _ in range(50):
            value = mine.getrandbits(bits)
            while value >= size:
                value = mine.getrandbits(bits)
            if reference.choice(range(size)) != value:
                return False
    return True


def _drawer(rng: random.Random, rows: list[int], inline: bool) -> Callable[[int], list[int]]:
    """``draw(k)``: k successive ``rng.choice(rows)`` results (inlined rejection loop when ``inline``)."""
    if not inline:
        choice = rng.choice
        return lambda k: [choice(rows) for _ in range(k)]
    count, bits, getrandbits = len(rows), len(rows).bit_length(), rng.getrandbits

    def draw(k: int) -> list[int]:
        picked = []
        for _ in range(k):
            value = getrandbits(bits)
            while value >= count:
                value = getrandbits(bits)
            picked.append(rows[value])
        return picked

    return draw


def _trial(rng: random.Random, rows: list[int], model: _Model, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """One langdetect trial; returns its final normalised probability vector."""
    np, n_langs = model.np, matrix.shape[1]
    weight = (_ALPHA_DEFAULT + rng.gauss(0.0, 1.0) * _ALPHA_WIDTH) / _BASE_FREQ
    draw = _drawer(rng, rows, model.inline_draws)
    block = np.empty((_BLOCK + 1, n_langs))  # row 0: current probabilities, rows 1..5: factors
    prob, factors = block[0], block[1:]
    divide, add, multiply, take = np.divide, np.add, np.multiply.reduce, matrix.take
    product = np.full(n_langs, 1.0 / n_langs) * (matrix[draw(1)[0]] + weight)  # step 0
    step = leader = 0
    while True:
        values = product.tolist()
        total = sum(values)  # langdetect's sequential Python sum, not numpy's pairwise one
        divide(product, total, out=prob)
        # max(p / total) == max(p) / total (rounding is monotonic). A value above 0.6 * total is the
        # strict maximum (the sum's relative error is < 1e-14), so max() is only needed when it is not.
        top = values[leader]
        if top <= 0.6 * total:
            top = max(values)
            leader = values.index(top)
        if top / total > _CONV_THRESHOLD or step >= _ITERATION_LIMIT:
            return prob
        take(draw(_BLOCK), axis=0, out=factors, mode="clip")
        add(factors, weight, out=factors)
        multiply(block, axis=0, out=product)  # ((prob * f1) * f2) ... * f5, element-wise
        step += _BLOCK


def _detect_uncached(text: str) -> str | None:
    """langdetect's answer for ``text``, or None where langdetect raises "No features in text."."""
    model = _model()
    rows, matrix = model.features(model.clean(text))
    if not rows:
        return None
    rng = random.Random(_SEED)  # langdetect reseeds its private Random with the seed at every detect
    total = model.np.zeros(matrix.shape[1])
    for _ in range(_N_TRIAL):
        total += _trial(rng, rows, model, matrix) / _N_TRIAL
    best, best_prob = _UNKNOWN, _PROB_THRESHOLD
    for lang, prob in zip(model.langs, total.tolist(), strict=True):
        if prob > best_prob:  # strict: the earliest language wins ties, as in langdetect's stable sort
            best, best_prob = lang, prob
    return best


@functools.lru_cache(maxsize=4096)
def _detect_cached(text: str) -> str | None:
    return _detect_uncached(text)


def detect(text: str) -> str:
    """Return langdetect 1.0.9's language code for ``text`` (seed 0), e.g. ``"en"``, or ``"unknown"``.

    Raises :class:`LanguageDetectionError` where langdetect raises (no known n-gram in the cleaned text,
    e.g. empty, digits-only or punctuation-only text) and ``TypeError`` for non-``str`` input.
    """
    if not isinstance(text, str):
        raise TypeError(f"detect() expects str, got {type(text).__name__}")
    found = _detect_cached(text)
    if found is None:
        raise LanguageDetectionError("No features in text.")
    return found


def detect_or_none(text: str) -> str | None:
    """Like :func:`detect`, but None where :func:`detect` raises :class:`LanguageDetectionError`."""
    if not isinstance(text, str):
        raise TypeError(f"detect_or_none() expects str, got {type(text).__name__}")
    return _detect_cached(text)
