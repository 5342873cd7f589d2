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

How it is fast while staying bit-for-bit exact:

* Every detection reseeds with 0, so the generator's 32-bit output stream is the same for every text. It
  is generated once (``getrandbits``); a ``choice`` among ``n`` n-grams is the first word whose top
  ``n.bit_length()`` bits are below ``n``, so all draws of a text come from a few numpy operations, and
  ``gauss`` is evaluated from the stream with ``random.gauss``'s formula. These properties of CPython's
  ``random`` are checked against the real generator when the profiles load; should one fail, langdetect
  itself (a private, seeded factory) is used instead.
* The probability rows of n-grams are built when first seen, in one batch per text, and every word's
  n-gram rows are cached, so a text's features are a join of cached byte strings.
* Within a block of five updates the rows are gathered ahead (``take``) and applied in order with one
  ``multiply.reduce`` (row by row, i.e. ``((p * f1) * f2) ...``, the very roundings of langdetect's loop);
  sums stay Python's ``sum`` in langdetect's order, divisions are IEEE divisions like langdetect's.

Nothing global is touched: no ``DetectorFactory.seed``, no module-level ``random``. Importing is cheap;
numpy, langdetect and the profiles load on first use.
"""

from __future__ import annotations

import functools
import math
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
_CHUNK = 8  # blocks whose rows are gathered at once
_UNKNOWN = "unknown"
_CACHE_LIMIT = 200_000  # entries per internal cache before it is cleared
_STREAM_WORDS = 16384  # 32-bit words of Random(0) generated up front (doubled when a text needs more)
_TWOPI = 2.0 * math.pi  # random.py's TWOPI


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


def _stream(words: int) -> bytes:
    """The first ``words`` 32-bit outputs of ``Random(_SEED)``, little-endian (first output first)."""
    return random.Random(_SEED).getrandbits(32 * words).to_bytes(4 * words, "little")


def _random_at(words: list[int], at: int) -> float:
    """``Random.random()`` computed from the two stream words at ``at`` (CPython's 53-bit construction)."""
    return ((words[at] >> 5) * 67108864.0 + (words[at + 1] >> 6)) * (1.0 / 9007199254740992.0)


def _gauss_pair(words: list[int]) -> tuple[float, float]:
    """``random.gauss``'s fresh pair from four stream words: the value it returns and the one it keeps."""
    x2pi = _random_at(words, 0) * _TWOPI
    g2rad = math.sqrt(-2.0 * math.log(1.0 - _random_at(words, 2)))
    return 0.0 + math.cos(x2pi) * g2rad * 1.0, 0.0 + math.sin(x2pi) * g2rad * 1.0  # mu + z * sigma


def _stream_matches_random() -> bool:
    """Whether CPython's ``random`` behaves as the stream shortcut assumes (checked once per model)."""
    size = 64
    data = _stream(size)
    words = [int.from_bytes(data[4 * i : 4 * i + 4], "little") for i in range(size)]
    real = random.Random(_SEED)
    if [real.getrandbits(32) for _ in range(size)] != words:  # getrandbits(32 k) = k words, first lowest
        return False
    for bits in range(1, 33):  # getrandbits(k <= 32) takes one word and keeps its top k bits
        real = random.Random(_SEED)
        if [real.getrandbits(bits) for _ in range(size)] != [word >> (32 - bits) for word in words]:
            return False
    for count in (1, 2, 3, 5, 7, 100, 1000, 4097):  # choice(seq) = rejection loop over getrandbits
        real, index = random.Random(_SEED), 0
        for _ in range(8):
            bits = count.bit_length()
            while words[index] >> (32 - bits) >= count:
                index += 1
            if real.choice(range(count)) != words[index] >> (32 - bits):
                return False
            index += 1
    for start in (0, 1, 5, 17, 40):  # gauss: a fresh pair takes 4 words, the kept value none
        real = random.Random(_SEED)
        if start:
            real.getrandbits(32 * start)
        first, second = real.gauss(0.0, 1.0), real.gauss(0.0, 1.0)
        if (first, second) != _gauss_pair(words[start : start + 4]) or real.getrandbits(32) != words[start + 4]:
            return False
    return True


def _encode(np: Any, grams: list[str], lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """One integer per 1- to 3-gram: ``sum((ord(ch) + 1) << 21 * i)`` (code points are < 2 ** 21 - 1)."""
    codes = np.array(grams, dtype="<U3").view(np.uint32).reshape(-1, 3).astype(np.int64)
    codes += 1
    codes[lengths < 3, 2] = 0
    codes[lengths < 2, 1] = 0
    return codes[:, 0] | codes[:, 1] << 21 | codes[:, 2] << 42


class _Model:
    """Profiles plus lazily grown caches; all mutation happens under ``self.lock``."""

    def __init__(self) -> None:
        import numpy
        from langdetect.detector import Detector
        from langdetect.detector_factory import PROFILES_DIRECTORY
        from langdetect.utils.ngram import NGram

        self.np = numpy
        self.profiles_directory = PROFILES_DIRECTORY
        self.url_sub: Callable[[str, str], str] = Detector.URL_RE.sub
        self.mail_sub: Callable[[str, str], str] = Detector.MAIL_RE.sub
        self.normalize_vi: Callable[[str], str] = NGram.normalize_vi
        self.normalize_char: Callable[[str], str] = NGram.normalize
        self.latin_sub = re.compile("[A-z]").sub  # code points 'A'..'z' (with [\\]^_`), as langdetect tests
        self.non_latin_sub = re.compile("[^\x00-\u02ff]").sub  # ch >= U+0300
        self.split_words = re.compile("[^ ]+ ?").findall  # the words, each with the space after it if any
        self.langs: list[str] = []
        freqs: list[dict[str, int]] = []
        n_words: list[list[int]] = []
        loads = _json_loads()
        for name in os.listdir(PROFILES_DIRECTORY):  # the very listing (and order) langdetect uses
            path = os.path.join(PROFILES_DIRECTORY, name)
            if name.startswith(".") or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                profile = loads(handle.read())
            self.langs.append(profile["name"])
            freqs.append(profile["freq"])
            n_words.append(profile["n_words"])
        n_langs = len(self.langs)
        self._index(freqs, numpy.array(n_words, dtype=numpy.float64))
        self.uniform = numpy.full(n_langs, 1.0 / n_langs)  # langdetect's initial [1.0 / n] * n
        self.lock = threading.Lock()
        self.matrix: NDArray[np.float64] = numpy.empty((4096, n_langs))
        self.n_rows = 0
        self.words: dict[str, bytes] = {}  # word (+ " " if a space follows) -> its n-gram rows (C ints)
        self.table: dict[int, str] = {}  # code point -> normalised character, for every seen character
        self.upper: set[str] = set()  # normalised characters that are upper case
        self._learn_chars({chr(code) for code in range(128)})
        self.fast = _stream_matches_random()
        self.stream: NDArray[np.uint32] = numpy.frombuffer(_stream(_STREAM_WORDS), dtype="<u4")
        self.first_pair = _gauss_pair(self.stream[:4].tolist())  # trials 0 and 1: the same for every text
        self.factory: Any = None  # langdetect's own, only where ``fast`` is False

    def _index(self, freqs: list[dict[str, int]], n_words: NDArray[np.float64]) -> None:
        """One sorted index over all profiles' n-grams (numpy, no per-entry Python work).

        Every profile entry becomes (n-gram key, language, ``count / n_words[len - 1]``), the IEEE
        quotient of langdetect's ``1.0 * count / n_words[len - 1]``; entries are sorted by key, so an
        n-gram's entries are one run, found with ``searchsorted``. langdetect's map holds n-grams of any
        length, but only 1- to 3-grams can ever be looked up, so longer (or empty) keys are left out.
        """
        from itertools import chain

        np = self.np
        grams = list(chain.from_iterable(freqs))
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        counts = np.fromiter(chain.from_iterable([freq.values() for freq in freqs]), np.int64, len(grams))
        langs = np.repeat(np.arange(len(freqs)), [len(freq) for freq in freqs])
        usable = ((lengths >= 1) & (lengths <= 3)).nonzero()[0]
        keys = _encode(np, grams, lengths)
        order = usable[keys[usable].argsort()]
        keys = keys[order]
        firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        self.gram_keys = keys[firsts]  # sorted, distinct
        self.gram_bounds = np.append(firsts, len(keys))  # entries of n-gram i: gram_bounds[i] .. [i + 1]
        self.entry_langs = langs[order]
        self.entry_probs = counts[order] / n_words[self.entry_langs, lengths[order] - 1]
        self.row_of = np.full(len(firsts), -1, dtype=np.intc)  # n-gram -> matrix row, once built

    def _learn_chars(self, chars: set[str]) -> None:
        for ch in chars:
            normalized = self.normalize_char(ch)
            self.table[ord(ch)] = normalized
            if normalized.isupper():
                self.upper.add(normalized)

    def _add_rows(self, grams: NDArray[Any]) -> None:
        """Build the matrix rows of n-grams ``grams`` (distinct index positions without a row yet)."""
        np = self.np
        starts, stops = self.gram_bounds[grams], self.gram_bounds[grams + 1]
        sizes = stops - starts
        which = np.repeat(np.arange(len(grams)), sizes)  # block row of each entry
        entries = np.arange(len(which)) + np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
        start, stop = self.n_rows, self.n_rows + len(grams)
        if stop > len(self.matrix):
            grown = np.empty((max(stop, 2 * len(self.matrix)), self.matrix.shape[1]))
            grown[:start] = self.matrix[:start]
            self.matrix = grown
        block = self.matrix[start:stop]
        block[:] = 0.0
        block[which, self.entry_langs[entries]] = self.entry_probs[entries]
        self.row_of[grams] = np.arange(start, stop)
        self.n_rows = stop

    def _grams(self, key: str) -> list[str]:
        """The n-grams of one word, in langdetect's order (position, then n = 1, 2, 3)."""
        padded = " " + key
        if self.upper.isdisjoint(key[1:]):  # no two upper-case letters in a row: nothing is skipped
            last = len(padded) - 1
            spaced = padded[last] == " "  # a space follows (then last >= 2): no unigram at the end
            grams = [padded[1], padded[:2]]
            for end in range(2, last if spaced else last + 1):
                grams += (padded[end], padded[end - 1 : end + 1], padded[end - 2 : end + 1])
            if spaced:
                grams += (padded[last - 1 :], padded[last - 2 :])
            return grams
        grams = []
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
        return grams

    def _learn_words(self, keys: list[str]) -> None:
        """Cache the n-gram rows of new words, building the rows of their new n-grams in one batch."""
        from itertools import chain

        np = self.np
        found = {key: self._grams(key) for key in dict.fromkeys(keys)}
        grams = list(chain.from_iterable(found.values()))
        sizes = np.fromiter(map(len, found.values()), dtype=np.intp, count=len(found))
        wanted = _encode(np, grams, np.fromiter(map(len, grams), dtype=np.int64, count=len(grams)))
        index = self.gram_keys.searchsorted(wanted)
        index[index == len(self.gram_keys)] = 0
        known = self.gram_keys[index] == wanted  # in some profile; the others are dropped, as langdetect does
        index = index[known]
        rows = self.row_of[index]
        missing = index[rows < 0]
        if len(missing):
            self._add_rows(np.unique(missing))
            rows = self.row_of[index]
        ends = np.cumsum(np.add.reduceat(known, np.cumsum(sizes) - sizes, dtype=np.intp)).tolist()
        data = rows.tobytes()
        words, width, start = self.words, rows.itemsize, 0
        for key, end in zip(found, ends, strict=True):
            words[key] = data[width * start : width * end]
            start = end

    def features(self, text: str) -> tuple[bytes, NDArray[np.float64]]:
        """Rows of every n-gram of the cleaned ``text`` in order (C ints), with a snapshot of the matrix."""
        with self.lock:
            if not text.isascii():
                self._learn_chars({ch for ch in set(text) if ord(ch) not in self.table})
            if len(self.words) > _CACHE_LIMIT:
                self.words.clear()
            keys = self.split_words(text.translate(self.table))
            parts = list(map(self.words.get, keys))
            if None in parts:
                self._learn_words([key for key, part in zip(keys, parts, strict=True) if part is None])
                parts = list(map(self.words.__getitem__, keys))
            return b"".join(parts), self.matrix

    def stream_words(self, count: int) -> NDArray[np.uint32]:
        """The first ``count`` (or more) 32-bit words of ``Random(_SEED)``."""
        stream = self.stream
        if len(stream) < count:
            with self.lock:
                size = len(self.stream)
                while size < count:
                    size *= 2
                if size > len(self.stream):
                    self.stream = self.np.frombuffer(_stream(size), dtype="<u4")
                stream = self.stream
        return stream

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

    def langdetect_vector(self, text: str) -> list[float] | None:
        """langdetect's own averaged vector (private factory, seed 0); None where it raises."""
        from langdetect.detector_factory import DetectorFactory
        from langdetect.lang_detect_exception import LangDetectException

        with self.lock:
            if self.factory is None:
                factory = DetectorFactory()
                factory.load_profile(self.profiles_directory)
                factory.set_seed(_SEED)
                self.factory = factory
        detector = self.factory.create()
        detector.append(text)
        try:
            detector._detect_block()
        except LangDetectException:
            return None
        return list(detector.langprob)


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


class _Draws:
    """The n-gram rows that successive ``choice`` calls pick, read off the shared generator stream."""

    def __init__(self, model: _Model, rows: NDArray[Any]) -> None:
        self.model, self.rows, self.count = model, rows, len(rows)
        self.shift = 32 - self.count.bit_length()
        self._scan(1024)

    def _scan(self, width: int) -> None:
        """Accepted draws among the first ``width`` stream words: their positions and picked rows."""
        values = self.model.stream_words(width)[:width] >> self.shift  # getrandbits(n.bit_length())
        self.positions = (values < self.count).nonzero()[0]  # choice's rejection loop keeps these words
        self.picked = self.rows.take(values.take(self.positions))
        self.width = width

    def take(self, start: int, count: int) -> NDArray[Any]:
        """Rows of accepted draws ``start .. start + count - 1``."""
        while start + count > len(self.picked):
            self._scan(2 * self.width)
        return self.picked[start : start + count]

    def first_at(self, word: int) -> int:
        """Index of the first accepted draw at stream position ``word`` or later."""
        while word >= self.width:
            self._scan(2 * self.width)
        return int(self.positions.searchsorted(word))

    def end_of(self, index: int) -> int:
        """Stream position just after accepted draw ``index``."""
        self.take(index, 1)
        return int(self.positions[index]) + 1

    def gauss_pair(self, word: int) -> tuple[float, float]:
        return _gauss_pair(self.model.stream_words(word + 4)[word : word + 4].tolist())


class _Workspace:
    """Per-detection buffers: ``buffer`` row 0 holds the current vector, rows 1.. the factors
    ``weight + p`` of the next blocks (gathered ahead); block ``j`` reduces rows ``5j .. 5j + 5`` and its
    normalised result overwrites row ``5j + 5`` (a factor already used), which starts block ``j + 1``."""

    def __init__(self, np: Any, n_langs: int) -> None:
        self.buffer = buffer = np.empty((1 + _BLOCK * _CHUNK, n_langs))
        self.spans = [buffer[_BLOCK * j : _BLOCK * j + _BLOCK + 1] for j in range(_CHUNK)]
        self.ends = [buffer[_BLOCK * j + _BLOCK] for j in range(_CHUNK)]
        self.product = np.empty(n_langs)
        self.values = memoryview(self.product)  # iterates as Python floats, for Python's own sum


def _trial(
    np: Any, draws: _Draws, start: int, weight: float, matrix: NDArray[np.float64], work: _Workspace, uniform: Any
) -> tuple[NDArray[np.float64], int]:
    """One langdetect trial from accepted draw ``start``: its final normalised vector and draws used."""
    divide, add, reduce, take = np.divide, np.add, np.multiply.reduce, matrix.take
    buffer, spans, ends, product, values = work.buffer, work.spans, work.ends, work.product, work.values
    head, factors = buffer[0], buffer[1:]
    take(draws.take(start, len(buffer)), 0, buffer, "clip")  # positional arguments: cheaper calls
    add(buffer, weight, buffer)
    np.multiply(uniform, head, product)  # step 0
    total = sum(values)  # langdetect's Python sum, in its order (numpy's is pairwise)
    divide(product, total, head)
    leader = int(product.argmax())  # the first largest, as max() then index()
    if product.item(leader) / total > _CONV_THRESHOLD:  # max(p / total) == max(p) / total (monotonic)
        return head, 1
    step = 0
    while True:
        for span, end in zip(spans, ends, strict=True):
            reduce(span, 0, None, product)  # ((p * f1) * f2) ... * f5, element-wise, in order
            total = sum(values)
            divide(product, total, end)
            step += _BLOCK
            # A value above 0.6 * total is the strict maximum (the sum's relative error is < 1e-14),
            # so argmax is only needed when the previous leader is no longer above it.
            top = product.item(leader)
            if top <= 0.6 * total:
                leader = int(product.argmax())
                top = product.item(leader)
            if top / total > _CONV_THRESHOLD or step >= _ITERATION_LIMIT:
                return end, step + 1
        head[:] = end
        take(draws.take(start + step + 1, len(factors)), 0, factors, "clip")
        add(factors, weight, factors)


def _average(
    model: _Model, rows: NDArray[Any], matrix: NDArray[np.float64], decide: bool = False
) -> NDArray[np.float64] | int:
    """langdetect's ``langprob``: the mean of the seven trials' vectors (``+= p / 7`` in trial order).

    With ``decide``, stop as soon as the winner is certain and return its index instead: after ``k``
    trials each language can still gain at most ``(7 - k) / 7`` (every trial's vector is normalised, and
    adding non-negative shares never lowers a float sum), so a lead larger than that (plus a 1e-9 margin
    for rounding, which is ~1e-13 here) fixes the strict maximum, which is then also above 0.1.
    """
    np, n_langs = model.np, matrix.shape[1]
    draws = _Draws(model, rows)
    work = _Workspace(np, n_langs)
    total, share = np.zeros(n_langs), np.empty(n_langs)
    word, index = 0, 0  # stream position, index of the next accepted draw
    kept = 0.0
    for trial in range(_N_TRIAL):
        if trial % 2 == 0:  # gauss draws a fresh pair (four words) and keeps the second value
            gauss, kept = model.first_pair if trial == 0 else draws.gauss_pair(word)
            word += 4
            index = draws.first_at(word)
        else:
            gauss = kept
        weight = (_ALPHA_DEFAULT + gauss * _ALPHA_WIDTH) / _BASE_FREQ
        prob, used = _trial(np, draws, index, weight, matrix, work, model.uniform)
        np.divide(prob, _N_TRIAL, share)
        total += share
        if decide and 2 * trial >= _N_TRIAL - 1 and trial < _N_TRIAL - 1:
            values = total.tolist()
            best = max(values)
            leader = values.index(best)
            values[leader] = 0.0
            if best - max(values) > (_N_TRIAL - 1 - trial) / _N_TRIAL + 1e-9:
                return leader
        index += used
        word = draws.end_of(index - 1)
    return total


def _vector(text: str) -> list[float] | None:
    """langdetect's averaged per-language vector (profile order) for ``text``; None if it raises."""
    model = _model()
    if not model.fast:
        return model.langdetect_vector(text)
    data, matrix = model.features(model.clean(text))
    if not data:
        return None
    found = _average(model, model.np.frombuffer(data, dtype=model.np.intc), matrix)
    assert not isinstance(found, int)
    return found.tolist()


def _winner(langs: list[str], vector: list[float]) -> str:
    """langdetect's pick: the first language with the highest share above 0.1, else "unknown"."""
    best, best_prob = _UNKNOWN, _PROB_THRESHOLD
    for lang, prob in zip(langs, vector, strict=True):
        if prob > best_prob:  # strict: the earliest language wins ties, as in langdetect's stable sort
            best, best_prob = lang, prob
    return best


def _detect_uncached(text: str) -> str | None:
    """langdetect's answer for ``text``, or None where langdetect raises "No features in text."."""
    model = _model()
    if not model.fast:
        vector = model.langdetect_vector(text)
        return None if vector is None else _winner(model.langs, vector)
    data, matrix = model.features(model.clean(text))
    if not data:
        return None
    found = _average(model, model.np.frombuffer(data, dtype=model.np.intc), matrix, decide=True)
    return model.langs[found] if isinstance(found, int) else _winner(model.langs, found.tolist())


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
