"""The model behind :mod:`ifverify.verifiers.langid`: langdetect 1.0.9's 55 profiles as numpy tables, the
text cleaning and n-gram features, and Random(0)'s output stream (see ``langid``'s docstring for the rules and
why they are exact).  Loaded once per process, on first use; importing this module is cheap.
"""

from __future__ import annotations

import math
import os
import random
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

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


def _json_loads() -> Callable[[bytes], Any]:
    """orjson's ``loads`` when installed (same values as ``json`` on these files, ~2x faster), else json's."""
    try:
        import orjson
    except ImportError:
        import json

        return json.loads
    return orjson.loads


def _stream(words: int) -> bytes:
    """The first ``words`` 32-bit outputs of ``Random(_SEED)``, little-endian (first output first).

    ``getrandbits(32 * k)`` takes ``k`` outputs, the first as the lowest 32 bits (checked at load)."""
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
            while index < size and words[index] >> (32 - bits) >= count:
                index += 1
            if index == size or real.choice(range(count)) != words[index] >> (32 - bits):
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


def _encode(np: Any, strings: list[str]) -> tuple[NDArray[np.int64], NDArray[np.intp]] | None:
    """Each string's key ``sum((ord(s[i]) + 1) << 21 * i for i < min(len(s), 3))`` and its length.

    Keys of distinct 1- to 3-character strings differ (code points are below 2 ** 21 - 1). Done on the
    UTF-32 code units of the strings joined with NUL; None where a string holds a NUL itself.
    """
    if not strings:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.intp)
    codes = np.frombuffer("\x00".join(strings).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ends = (codes == 0).nonzero()[0]
    if len(ends) != len(strings) - 1:
        return None
    starts = np.concatenate(([0], ends + 1))
    lengths = np.append(ends, len(codes)) - starts
    codes = np.append(codes, [0, 0, 0])  # past the last string (which may be empty)
    keys = codes[starts].astype(np.int64)
    keys += 1
    for place in (1, 2):
        char = codes[starts + place].astype(np.int64)
        char += 1
        char *= lengths > place
        char <<= 21 * place
        keys |= char
    return keys, lengths


def _parse_dicts(
    raws: list[bytes], loads: Callable[[bytes], Any]
) -> tuple[list[str], list[list[int]], list[str], Iterable[Any], list[int]]:
    """The profiles' names and ``n_words``, all their ``freq`` keys and counts (flat), and ``freq`` sizes."""
    from itertools import chain

    profiles = [loads(raw) for raw in raws]
    freqs = [profile["freq"] for profile in profiles]
    return (
        [profile["name"] for profile in profiles],
        [profile["n_words"] for profile in profiles],
        list(chain.from_iterable(freqs)),
        chain.from_iterable([freq.values() for freq in freqs]),
        [len(freq) for freq in freqs],
    )


class _CharTable(dict):  # type: ignore[type-arg]
    """``code point -> NGram.normalize(chr(code))`` for ``str.translate``, filled on first sight of a code;
    ``upper[code]`` tells whether a normalised character (``code``) is upper case."""

    def __init__(self, normalize: Callable[[str], str], upper: NDArray[np.bool_]) -> None:
        super().__init__()
        self.normalize, self.upper = normalize, upper

    def __missing__(self, code: int) -> str:
        normalized = self[code] = self.normalize(chr(code))
        if normalized.isupper():
            self.upper[ord(normalized)] = True
        return normalized


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
        self.latin_sub = re.compile("[A-z]+").sub  # code points 'A'..'z' (with [\\]^_`), as langdetect tests
        self.non_latin_sub = re.compile("[^\x00-\u02ff]+").sub  # ch >= U+0300
        raws = []
        for name in os.listdir(PROFILES_DIRECTORY):  # the very listing (and order) langdetect uses
            path = os.path.join(PROFILES_DIRECTORY, name)
            if not name.startswith(".") and os.path.isfile(path):
                with open(path, "rb") as handle:
                    raws.append(handle.read())
        parsed = _parse_dicts(raws, _json_loads())
        self._index(*parsed[1:])
        self.langs: list[str] = parsed[0]
        n_langs = len(self.langs)
        self.uniform = numpy.full(n_langs, 1.0 / n_langs)  # langdetect's initial [1.0 / n] * n
        self.lock = threading.Lock()
        self.matrix: NDArray[np.float64] = numpy.empty((4096, n_langs))
        self.n_rows = 0
        # word -> its n-gram rows (C ints), for a word at the end of the text and for one a space follows
        self.last_words: dict[str, bytes] = {"": b""}
        self.spaced_words: dict[str, bytes] = {"": b""}
        self.table = _CharTable(NGram.normalize, numpy.zeros(0x110000, dtype=bool))  # normalises characters
        self.local = threading.local()  # per-thread work buffers
        self.fast = _stream_matches_random()
        self.stream: NDArray[np.uint32] = numpy.frombuffer(_stream(_STREAM_WORDS), dtype="<u4")
        self.first_pair = _gauss_pair(self.stream[:4].tolist())  # trials 0 and 1: the same for every text
        self.factory: Any = None  # langdetect's own, only where ``fast`` is False
        self.compiled = _compiled_trials(self) if self.fast else None
        self.ngram_table = _ngram_table(self)

    def _index(self, n_words: list[list[int]], grams: list[str], counts: Iterable[Any], sizes: list[int]) -> None:
        """One sorted index over all profiles' n-grams (numpy, no per-entry Python work).

        Every profile entry becomes (n-gram key, language, ``count / n_words[len - 1]``), the IEEE
        quotient of langdetect's ``1.0 * count / n_words[len - 1]``; entries are sorted by key, so an
        n-gram's entries are one run, found with ``searchsorted``. langdetect's map holds n-grams of any
        length, but only 1- to 3-grams can ever be looked up, so longer (or empty) keys are left out.
        """
        np = self.np
        values = np.fromiter(counts, dtype=np.float64, count=len(grams))  # the floats of langdetect's 1.0 * count
        languages = np.repeat(np.arange(len(sizes)), sizes)
        encoded = _encode(np, grams)
        if encoded is None:  # a key with a NUL: no text n-gram has one (normalisation makes NUL a space)
            usable = np.fromiter(("\x00" not in gram for gram in grams), dtype=bool, count=len(grams))
            values, languages = values[usable], languages[usable]
            encoded = _encode(np, [gram for gram in grams if "\x00" not in gram])
            assert encoded is not None
        keys, lengths = encoded
        usable = ((lengths >= 1) & (lengths <= 3)).nonzero()[0]
        order = usable[keys[usable].argsort()]
        keys, languages = keys[order], languages[order]
        firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        self.gram_keys = keys[firsts]  # sorted, distinct
        self.gram_bounds = np.append(firsts, len(keys))  # entries of n-gram i: gram_bounds[i] .. [i + 1]
        self.entry_langs = languages
        denominators = np.array(n_words, dtype=np.float64)
        self.entry_probs = values[order] / denominators[languages, lengths[order] - 1]
        self.row_of = np.full(len(firsts), -1, dtype=np.intc)  # n-gram -> matrix row, once built

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

    def _learn_words(self, keys: list[str]) -> None:
        """Cache the n-gram rows of new words (each with a trailing space where one follows it).

        Vectorised over the words: in ``" " + word`` every character ``c`` after the space ends the
        1-gram ``c`` (unless ``c`` is the trailing space), the 2-gram and, from the second letter on, the
        3-gram, in that order; none ends at an upper-case character that follows an upper-case one
        (langdetect's "capital word"). N-grams in no profile are dropped, as langdetect does.
        """
        np = self.np
        keys = list(dict.fromkeys(keys))
        codes = np.frombuffer("".join(map(" ".__add__, keys)).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        sizes = np.fromiter(map(len, keys), dtype=np.intp, count=len(keys)) + 1
        lead = np.zeros(len(codes), dtype=bool)  # the space put before each word
        lead[np.cumsum(sizes) - sizes] = True
        upper = self.table.upper[codes]
        ends = ~lead[1:] & ~(upper[1:] & upper[:-1])  # positions 1.. where n-grams end
        chars = codes.astype(np.int64) + 1  # _encode's per-character code
        last, previous = chars[1:], chars[:-1]
        before = np.concatenate(([0], chars[:-2]))
        grams = np.stack((last, previous | last << 21, before | previous << 21 | last << 42), axis=1)
        kept = np.stack((ends & (codes[1:] != 32), ends, ends & ~lead[:-1]), axis=1)
        grams = grams[kept]  # position by position, then n = 1, 2, 3
        owner = np.broadcast_to((np.cumsum(lead) - 1)[1:, None], kept.shape)[kept]  # the word of each n-gram
        distinct, inverse = np.unique(grams, return_inverse=True)  # sorted: a cache-friendly search
        index = self.gram_keys.searchsorted(distinct)
        index[index == len(self.gram_keys)] = 0
        known = self.gram_keys[index] == distinct
        index = index[known]
        missing = index[self.row_of[index] < 0]
        if len(missing):
            self._add_rows(missing)
        rows = np.full(len(distinct), -1, dtype=np.intc)
        rows[known] = self.row_of[index]
        rows = rows[inverse]
        known = rows >= 0
        rows = rows[known]
        data = rows.tobytes()
        width, start = rows.itemsize, 0
        spaced, final = self.spaced_words, self.last_words
        for key, end in zip(keys, np.cumsum(np.bincount(owner[known], minlength=len(keys))).tolist(), strict=True):
            if key[-1] == " ":
                spaced[key[:-1]] = data[width * start : width * end]
            else:
                final[key] = data[width * start : width * end]
            start = end

    def features(self, text: str) -> tuple[bytes, NDArray[np.float64]]:
        """Rows of every n-gram of the cleaned ``text`` in order (C ints), with a snapshot of the matrix."""
        if self.ngram_table is not None:
            return self._features_compiled(text)
        with self.lock:
            if len(self.spaced_words) + len(self.last_words) > _CACHE_LIMIT:
                self.spaced_words = {"": b""}
                self.last_words = {"": b""}
            words = text.translate(self.table).split(" ")  # "" between two spaces: no n-grams
            last = words.pop()
            spaced = self.spaced_words
            parts = list(map(spaced.get, words))
            parts.append(self.last_words.get(last))
            if None in parts:
                new = [word + " " for word, part in zip(words, parts[:-1], strict=True) if part is None]
                self._learn_words(new if parts[-1] is not None else [*new, last])
                parts = list(map(spaced.__getitem__, words))
                parts.append(self.last_words[last])
            return b"".join(cast("list[bytes]", parts)), self.matrix

    def _features_compiled(self, text: str) -> tuple[bytes, NDArray[np.float64]]:
        """:meth:`features` by the compiled extractor: one pass over the text, no per-word cache."""
        np = self.np
        assert self.ngram_table is not None
        ngrams, table_keys, table_values = self.ngram_table
        with self.lock:  # translating may grow the character table
            normalized = text.translate(self.table)
        codes = np.frombuffer((" " + normalized).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        index, rows = np.empty((2, 3 * len(codes)), dtype=np.intc)
        count, missing = ngrams(codes, self.table.upper, table_keys, table_values, self.row_of, index, rows)
        if missing:
            with self.lock:
                index = index[:count]
                new = np.unique(index[self.row_of[index] < 0])
                if len(new):
                    self._add_rows(new)
                return self.row_of[index].tobytes(), self.matrix
        return rows[:count].tobytes(), self.matrix

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


def warm_up() -> None:
    """Load the language profiles now rather than on the first detection."""
    _model()


def _compiled_trials(model: _Model) -> tuple[Callable[..., int], bool] | None:
    """The compiled trial loop and the sum it must use, or None (not built, or not exact here).

    It is used only where it provably computes what the Python path computes: its float sum must
    equal Python's ``sum`` on probes that tell the plain from the compensated sum apart, and its
    ``gauss`` pairs must equal :func:`_gauss_pair` along the stream.
    """
    try:
        from ifverify.verifiers import _langid_trials as compiled
    except ImportError:
        return None
    np = model.np
    probes = [[1e16, 1.0, -1e16], [0.1] * 10, [1.0, 1e-16, 1e-16, 1e-16, -1.0], [3.0, 1e-17, -3.0, 2e-17],
              [1.0 / (k + 1) for k in range(55)], [2.0**-k for k in range(60)][::-1]]
    modes = [compensated for compensated in (False, True)
             if all(compiled.float_sum(np.array(p, dtype=np.float64), compensated) == sum(p) for p in probes)]
    if len(modes) != 1:
        return None
    words = model.stream_words(260)[:260].tolist()
    if any(compiled.gauss(*words[at : at + 4]) != _gauss_pair(words[at : at + 4]) for at in range(0, 256, 3)):
        return None
    return compiled.trials, modes[0]


def _ngram_table(model: _Model) -> tuple[Callable[..., tuple[int, int]], NDArray[np.int64], NDArray[np.int32]] | None:
    """The compiled n-gram extractor with its key table (key -> index in ``gram_keys``), or None."""
    try:
        from ifverify.verifiers import _langid_trials as compiled
    except ImportError:
        return None
    np = model.np
    size = 2
    while size <= 2 * len(model.gram_keys):
        size *= 2
    table_keys, table_values = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int32)
    compiled.build_table(np.ascontiguousarray(model.gram_keys, dtype=np.int64), table_keys, table_values)
    return compiled.ngrams, table_keys, table_values
