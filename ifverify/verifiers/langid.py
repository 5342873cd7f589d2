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

* Loading: the 55 JSON profiles become one numpy index of all (n-gram, language, ``count / n_words``)
  entries sorted by an integer key of the n-gram (its code points), so the n-grams of the words a text
  brings for the first time are extracted and looked up with numpy in one batch per text (no 55 dict
  look-ups per n-gram); the probability row of an n-gram is built on first use.
* Features: where the optional extension was built, one compiled pass over the normalised text looks every
  n-gram up in a hash table of the profiles' keys (no per-word state).  Otherwise every word's n-gram rows
  are cached as bytes (one cache for a word followed by a space, one for the last word), so a text's
  features are ``translate`` + ``split`` + a join of cached byte strings.  Tests hold the two to the same
  rows, and both to langdetect's n-grams.
* Draws: every detection reseeds with 0, so the generator's 32-bit output stream is the same for every
  text. It is generated once (``getrandbits``); a ``choice`` among ``n`` n-grams is the first word whose
  top ``n.bit_length()`` bits are below ``n``, so all draws of a text come from a few numpy operations,
  and ``gauss`` is evaluated from the stream with ``random.gauss``'s formula. These properties of
  CPython's ``random`` are checked against the real generator at load; should one fail, langdetect itself
  (a private, seeded factory) is used instead.
* Updates: the rows of the next blocks of five draws are gathered ahead (``take``) and a block is applied
  with one ``multiply.reduce`` (row by row, i.e. ``((p * f1) * f2) ...``, the very roundings of
  langdetect's loop); sums stay Python's own ``sum`` in langdetect's order (so they follow the running
  Python, e.g. 3.12's compensated sum, as langdetect does), divisions are IEEE divisions like langdetect's.
* The trials run in C where the optional extension ``_langid_trials`` was built at install: the same
  operations in the same order on the same doubles (its sum follows Python's, probed at load together
  with its ``gauss``; where either differs, the numpy loop above runs instead).  Tests hold the two
  loops, and langdetect, to identical vectors.
* ``detect`` stops after trial 4, 5 or 6 when the leader's lead can no longer be caught up by the trials
  left (each adds at most 1/7 to a language); the answer is then provably the one of all seven trials.

Nothing global is touched: no ``DetectorFactory.seed``, no module-level ``random``. Importing is cheap;
numpy, langdetect and the profiles load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ifverify.verifiers._langid_model import (  # noqa: F401  (_encode, _stream_matches_random: tests reach them here)
    _ALPHA_DEFAULT,
    _ALPHA_WIDTH,
    _BASE_FREQ,
    _BLOCK,
    _CHUNK,
    _CONV_THRESHOLD,
    _ITERATION_LIMIT,
    _N_TRIAL,
    _PROB_THRESHOLD,
    _UNKNOWN,
    _compiled_trials,
    _encode,
    _gauss_pair,
    _Model,
    _model,
    _ngram_table,
    _stream_matches_random,
    warm_up,
)
from ifverify.verifiers._memo import TextMemo

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["LanguageDetectionError", "detect", "detect_or_none"]


class LanguageDetectionError(ValueError):
    """Raised where ``langdetect.detect`` raises ``LangDetectException`` (e.g. "No features in text.")."""


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
    """Per-thread buffers of ``_trial``: ``buffer`` row 0 holds the current vector, rows 1.. the factors
    ``weight + p`` of the next blocks (gathered ahead); block ``j`` reduces rows ``5j .. 5j + 5`` and its
    normalised result overwrites row ``5j + 5`` (a factor already used), which starts block ``j + 1``."""

    def __init__(self, np: Any, n_langs: int) -> None:
        self.buffer = buffer = np.empty((1 + _BLOCK * _CHUNK, n_langs))
        self.head, self.factors = buffer[0], buffer[1:]
        self.blocks = [
            (buffer[_BLOCK * j : _BLOCK * j + _BLOCK + 1], buffer[_BLOCK * j + _BLOCK]) for j in range(_CHUNK)
        ]
        self.product = np.empty(n_langs)
        self.values = memoryview(self.product)  # iterates as Python floats, for Python's own sum


def _trial(
    np: Any, draws: _Draws, start: int, weight: float, matrix: NDArray[np.float64], work: _Workspace, uniform: Any
) -> tuple[NDArray[np.float64], int]:
    """One langdetect trial from accepted draw ``start``: its final normalised vector and draws used."""
    divide, add, reduce, take = np.divide, np.add, np.multiply.reduce, matrix.take
    buffer, head, factors, blocks = work.buffer, work.head, work.factors, work.blocks
    product, values = work.product, work.values
    item, argmax, threshold, block, limit = product.item, product.argmax, _CONV_THRESHOLD, _BLOCK, _ITERATION_LIMIT
    take(draws.take(start, len(buffer)), 0, buffer, "clip")  # positional arguments: cheaper calls
    add(buffer, weight, buffer)
    np.multiply(uniform, head, product)  # step 0
    total = sum(values)  # langdetect's Python sum, in its order (numpy's is pairwise)
    divide(product, total, head)
    leader = int(argmax())  # the first largest, as max() then index()
    if item(leader) / total > threshold:  # max(p / total) == max(p) / total (rounding is monotonic)
        return head, 1
    step = 0
    while True:
        for span, end in blocks:
            reduce(span, 0, None, product)  # ((p * f1) * f2) ... * f5, element-wise, in order
            total = sum(values)
            divide(product, total, end)
            step += block
            # A value above 0.6 * total is the strict maximum (the sum's relative error is < 1e-14),
            # so argmax is only needed when the previous leader is no longer above it.
            top = item(leader)
            if top <= 0.6 * total:
                leader = int(argmax())
                top = item(leader)
            if top / total > threshold or step >= limit:
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
    work = getattr(model.local, "work", None)
    if work is None:
        work = model.local.work = _Workspace(np, n_langs)
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


def _run_trials(model: _Model, data: bytes, matrix: NDArray[np.float64], *, decide: bool) -> NDArray[np.float64] | int:
    """:func:`_average` on the n-gram rows ``data`` (C ints), by the compiled loop where there is one."""
    np = model.np
    if model.compiled is None:
        return _average(model, np.frombuffer(data, dtype=np.intc), matrix, decide)
    trials, compensated = model.compiled
    out = np.empty(matrix.shape[1])
    while True:
        found = trials(model.stream, data, matrix, matrix.shape[1], model.uniform, out, compensated, decide)
        if found != -2:
            return out if found == -1 else found
        model.stream_words(2 * len(model.stream))  # a text that needs more of the stream


def _vector(text: str) -> list[float] | None:
    """langdetect's averaged per-language vector (profile order) for ``text``; None if it raises."""
    model = _model()
    if not model.fast:
        return model.langdetect_vector(text)
    data, matrix = model.features(model.clean(text))
    if not data:
        return None
    found = _run_trials(model, data, matrix, decide=False)
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
    found = _run_trials(model, data, matrix, decide=True)
    return model.langs[found] if isinstance(found, int) else _winner(model.langs, found.tolist())


class _DetectMemo:
    """``_detect_uncached`` remembered per text (the most recent 4,096 texts, within the memory bound
    of :class:`~ifverify.verifiers._memo.TextMemo`), fillable in bulk."""

    def __init__(self, size: int) -> None:
        self.items = TextMemo(entries=size)

    def __call__(self, text: str) -> str | None:
        found = self.items.get(text, _MISSING)
        if found is _MISSING:
            found = _detect_uncached(text)
            self.put(text, found)
        return cast("str | None", found)

    def get(self, text: str) -> Any:
        """The remembered answer, or ``_MISSING``."""
        return self.items.get(text, _MISSING)

    def put(self, text: str, found: str | None) -> None:
        self.items.put(text, len(text), found)

    def cache_clear(self) -> None:
        self.items.clear()


_MISSING = object()
_detect_cached = _DetectMemo(4096)


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
