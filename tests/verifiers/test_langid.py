"""ifverify.verifiers.langid must agree exactly with langdetect 1.0.9 seeded with 0, without global state."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langdetect import DetectorFactory
from langdetect import detect as langdetect_detect
from langdetect.lang_detect_exception import LangDetectException

from ifverify.verifiers import _langid_model, langid
from ifverify.verifiers.langid import LanguageDetectionError, detect, detect_or_none

REPO = Path(__file__).resolve().parents[2]
RESPONSES = REPO / "third_party" / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl"

VIETNAMESE = "Tiếng Việt là ngôn ngữ chính thức của Việt Nam, được hàng triệu người sử dụng hằng ngày."
EDGE_CASES = [
    "",
    " ",
    "\n\t \r\n  ",
    "1234567890 42 3.14159",
    "!!! ??? ... ,,, ;;; --- ***",
    "😀😃😄🎉🚀 👍👍",
    "你好，世界。今天天气很好，我们去公园散步吧。",
    "日本語のテキストです。ひらがなとカタカナと漢字。",
    "한국어 문장입니다. 오늘 날씨가 좋네요.",
    "Привет, как дела? Всё хорошо, спасибо!",
    "Добрий день! Як справи?",
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "این یک متن فارسی است که ی دارد",
    "नमस्ते, आप कैसे हैं? मैं ठीक हूँ।",
    "สวัสดีครับ วันนี้อากาศดีมาก",
    "Καλημέρα, τι κάνεις σήμερα;",
    "שלום עולם, מה שלומך?",
    "Hello мир 世界 مرحبا नमस्ते γειά",
    "The word Москва appears in this English sentence about travel plans.",
    "Visit https://example.com/path?x=1&y=2 or write to john.doe@example.com for details.",
    "https://example.com/only/a/url",
    "contact: a.b-c_d@mail.example.org",
    "HELLO WORLD THIS IS SHOUTING IN CAPITALS",
    "NASA ESA JAXA CNES",
    "a",
    "I",
    "ok",
    "Ça va très bien, merci beaucoup ! À bientôt.",
    "Bună ziua, mulțumesc frumos! Școala și țara.",
    "Ḁḁ ẞ ỳ ỹ ẽ Ạ ạ",
    "©®°±µ¶·¸¹º»¼½¾¿ ×÷",
    VIETNAMESE,
    unicodedata.normalize("NFD", VIETNAMESE),
    "Tie\u0300ng Vie\u0323t co\u0301 da\u0302\u0301u",  # letters followed by combining marks
    "double  spaces   and\ttabs\n\nnewlines   everywhere",
    "\x00\x01\x02 control",
    "\ud800abc lone surrogate",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "El rápido zorro marrón salta sobre el perro perezoso.",
    "The quick brown fox jumps over the lazy dog. " * 1200,  # 54,000 characters: truncated at 10,000
    "The quick brown fox jumps over the lazy dog. " * 230 + "Le renard brun saute par-dessus le chien. " * 1000,
]


#: Latin (with accents), Cyrillic, Greek, CJK, kana, hangul, Arabic, Devanagari, combining marks, digits.
SCRIPTS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ   .,!?éèçñüößàäø абвгдежзийклмнопрстуя"
SCRIPTS += "αβγδεζηθικλμνξοπρστυ 你好世界中文字 あいうアイウ 한국어 ابتثجحخ कखगघ ḀẠỹ 0123456789@:/"
SCRIPTS += "\u0300\u0301\u0303\u0309\u0323"


def reference(text: str) -> str | None:
    """langdetect's own answer with ``DetectorFactory.seed = 0`` (restored afterwards); None if it raises."""
    previous = DetectorFactory.seed
    DetectorFactory.seed = 0
    try:
        return langdetect_detect(text)
    except LangDetectException:
        return None
    finally:
        DetectorFactory.seed = previous


def loose_variants(response: str) -> Iterator[str]:
    """The response and IFEval's loose-mode variants (first/last/both lines removed, ``*`` removed)."""
    lines = response.split("\n")
    variants = [
        response,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    for variant in variants:
        yield variant
        yield variant.replace("*", "")


def assert_same(text: str) -> None:
    expected = reference(text)
    assert detect_or_none(text) == expected, repr(text[:120])
    if expected is None:
        with pytest.raises(LanguageDetectionError):
            detect(text)
    else:
        assert detect(text) == expected


@pytest.fixture(scope="module")
def responses() -> list[str]:
    with RESPONSES.open(encoding="utf-8") as handle:
        return [json.loads(line)["response"] for line in handle if line.strip()]


def test_matches_langdetect_on_gpt4_responses_and_loose_variants(responses: list[str]) -> None:
    texts = list(dict.fromkeys(variant for response in responses for variant in loose_variants(response)))
    assert len(responses) == 541 and len(texts) > 2000
    mismatches = [text[:80] for text in texts if detect_or_none(text) != reference(text)]
    assert mismatches == [], f"{len(mismatches)} of {len(texts)} texts differ"
    languages = {detect_or_none(text) for text in responses}
    assert {"en", "de", "hi", "ko", "ru", "ar", "th", None} <= languages


def langdetect_probabilities(text: str) -> list[float] | None:
    """langdetect's averaged per-language vector (``Detector.langprob``) with seed 0; None if it raises."""
    from langdetect import detector_factory

    detector_factory.init_factory()
    detector = detector_factory._factory.create()
    detector.seed = 0
    detector.append(text)
    try:
        detector._detect_block()
    except LangDetectException:
        return None
    return list(detector.langprob)


def langid_probabilities(text: str) -> list[float] | None:
    return langid._vector(text)


def test_probability_vectors_are_bit_identical(responses: list[str]) -> None:
    """Not just the winner: the averaged probability vector equals langdetect's to the last bit."""
    from langdetect import detector_factory

    detector_factory.init_factory()
    assert langid._model().langs == detector_factory._factory.langlist
    texts = responses[::5] + [case for case in EDGE_CASES if len(case) < 1000]
    for text in texts:
        assert langid_probabilities(text) == langdetect_probabilities(text), repr(text[:80])


def test_early_decision_agrees_with_the_full_vector(responses: list[str]) -> None:
    """``detect`` stops once the lead after 4+ trials cannot be caught up; the full average picks the same."""
    langs = langid._model().langs
    for text in responses[::3] + [case for case in EDGE_CASES if len(case) < 1000]:
        vector = langid._vector(text)
        assert langid._detect_uncached(text) == (None if vector is None else langid._winner(langs, vector))


def test_random_stream_shortcut_holds_on_this_python() -> None:
    """The fast path (draws read off Random(0)'s output stream) is the one the other tests exercise."""
    assert langid._stream_matches_random()
    assert langid._model().fast


def test_stream_is_extended_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_langid_model, "_STREAM_WORDS", 4)
    model = langid._Model()  # a private model whose pre-generated stream is far too short
    np = model.np
    texts = [EDGE_CASES[-2], "Ceci est une phrase écrite en français, assez longue pour plusieurs blocs.", "NASA ESA"]
    for text in texts:
        data, matrix = model.features(model.clean(text))
        vector = langid._average(model, np.frombuffer(data, dtype=np.intc), matrix)
        assert not isinstance(vector, int)
        assert vector.tolist() == langdetect_probabilities(text), repr(text[:80])
    assert len(model.stream) >= 1024


def test_compiled_loop_extends_the_stream_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_langid_model, "_STREAM_WORDS", 4)
    model = langid._Model()
    assert model.compiled is not None
    monkeypatch.setattr(model, "stream", model.stream[:4])  # shorter than even the probe needed
    text = "Ceci est une phrase écrite en français, assez longue pour plusieurs blocs."
    data, matrix = model.features(model.clean(text))
    vector = langid._run_trials(model, data, matrix, decide=False)
    assert not isinstance(vector, int)
    assert vector.tolist() == langdetect_probabilities(text)
    assert len(model.stream) > 4


def test_compiled_trials_are_built_and_used() -> None:
    """The install builds the C loop on this kind of machine; the other tests then exercise it."""
    assert langid._model().compiled is not None


def test_compiled_and_numpy_loops_agree_to_the_bit(responses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    model = langid._model()
    assert model.compiled is not None
    texts = list(dict.fromkeys(v for response in responses[::2] for v in loose_variants(response)))
    texts += [case for case in EDGE_CASES if len(case) < 1000]
    features = [model.features(model.clean(text)) for text in texts]
    features = [(data, matrix) for data, matrix in features if data]
    compiled = [langid._run_trials(model, data, matrix, decide=decide)
                for data, matrix in features for decide in (False, True)]
    monkeypatch.setattr(model, "compiled", None)
    numpy_loop = [langid._run_trials(model, data, matrix, decide=decide)
                  for data, matrix in features for decide in (False, True)]
    assert len(compiled) > 2000
    for ours, theirs in zip(compiled, numpy_loop, strict=True):
        if isinstance(theirs, int):
            assert ours == theirs
        else:
            assert not isinstance(ours, int) and ours.tolist() == theirs.tolist()


def test_compiled_loop_is_refused_where_its_sum_is_not_pythons(monkeypatch: pytest.MonkeyPatch) -> None:
    model = langid._model()
    monkeypatch.setattr(_langid_model, "sum", lambda values: 0.5, raising=False)  # no C sum matches this "Python"
    assert langid._compiled_trials(model) is None


def test_falls_back_to_langdetect_itself_when_random_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langid._model(), "fast", False)
    langid._detect_cached.cache_clear()
    try:
        for text in [case for case in EDGE_CASES if len(case) < 1000][:20]:
            assert_same(text)
            assert langid._vector(text) == langdetect_probabilities(text)
    finally:
        langid._detect_cached.cache_clear()


def test_encode_keys_are_distinct_and_nul_is_refused() -> None:
    np = langid._model().np
    strings = ["a", "ab", "abc", "b", "ba", " ", "  ", "\U0010ffff", "\U0010ffff" * 3, "\ud800", "é", ""]
    encoded = langid._encode(np, strings)
    assert encoded is not None
    keys, lengths = encoded
    assert lengths.tolist() == [len(s) for s in strings]
    assert len(set(keys.tolist())) == len(strings)
    assert langid._encode(np, ["a", "b\x00"]) is None
    assert langid._encode(np, [])[0].tolist() == []  # type: ignore[index]


def test_index_builds_exact_rows() -> None:
    """Rows hold ``count / n_words[len - 1]`` for every profile having the n-gram (a zero count included);
    profile keys no text n-gram can equal (with a NUL, empty, 4+ characters) are left out of the index."""
    np = langid._model().np
    model = langid._Model.__new__(langid._Model)
    model.np, model.n_rows, model.matrix = np, 0, np.empty((1, 2))
    freqs = [{"a": 1, "b\x00": 2, "ab": 3, "": 4}, {"abc": 4, "abcd": 5, "a": 7, "\U0010ffff": 1, "ab": 0}]
    grams = [gram for freq in freqs for gram in freq]
    counts = [count for freq in freqs for count in freq.values()]
    model._index([[10, 20, 30], [40, 50, 60]], grams, counts, [len(freq) for freq in freqs])
    assert len(model.gram_keys) == 4
    assert model.gram_keys.tolist() == sorted(model.gram_keys.tolist())
    wanted = ["ab", "a", "abc", "\U0010ffff"]
    encoded = langid._encode(np, wanted)
    assert encoded is not None
    positions = model.gram_keys.searchsorted(encoded[0])
    assert (model.gram_keys[positions] == encoded[0]).all()
    model._add_rows(positions)
    assert model.matrix[model.row_of[positions]].tolist() == [
        [3 / 20, 0 / 50],
        [1 / 10, 7 / 40],
        [0.0, 4 / 60],
        [0.0, 1 / 40],
    ]


def langdetect_ngrams(text: str) -> list[str]:
    """The n-grams langdetect draws from for ``text`` (``Detector._extract_ngrams``), in order."""
    from langdetect import detector_factory

    detector_factory.init_factory()
    detector = detector_factory._factory.create()
    detector.append(text)
    detector.cleaning_text()  # as _detect_block does first
    return list(detector._extract_ngrams())


def langid_ngram_rows(text: str) -> list[int]:
    model = langid._model()
    data, _ = model.features(model.clean(text))
    return model.np.frombuffer(data, dtype=model.np.intc).tolist()


def rows_of(grams: list[str]) -> list[int]:
    model = langid._model()
    encoded = langid._encode(model.np, grams)
    assert encoded is not None
    positions = model.gram_keys.searchsorted(encoded[0])
    assert (model.gram_keys[positions] == encoded[0]).all()
    return model.row_of[positions].tolist()


def test_features_are_langdetects_ngrams(responses: list[str]) -> None:
    """Not just the answers: the sequence of n-grams drawn from is langdetect's, n-gram for n-gram."""
    for text in responses[::7] + [case for case in EDGE_CASES if len(case) < 1000] + ["ABCdef GHi jK LM n OPQ"]:
        rows = langid_ngram_rows(text)
        assert rows == rows_of(langdetect_ngrams(text)), repr(text[:80])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=SCRIPTS + "ÉÀÇ ǅǈ ΣΔ ДЖ ẞ", max_size=80))
def test_property_features_are_langdetects_ngrams(text: str) -> None:
    rows = langid_ngram_rows(text)
    assert rows == rows_of(langdetect_ngrams(text))


def python_features(text: str) -> bytes:
    """The n-gram rows by the pure-Python extractor (the per-word cache path)."""
    model = langid._model()
    table = model.ngram_table
    model.ngram_table = None
    try:
        return model.features(model.clean(text))[0]
    finally:
        model.ngram_table = table


def test_compiled_extractor_is_built_and_agrees_with_python(responses: list[str]) -> None:
    model = langid._model()
    assert model.ngram_table is not None
    texts = list(dict.fromkeys(v for response in responses for v in loose_variants(response))) + EDGE_CASES
    texts += ["  two  spaces  ", " lead", "trail ", "ABCdef GHi jK LM n OPQ", "ÀÉ ÎÕ", "a", " ", ""]
    for text in texts:
        assert model.features(model.clean(text))[0] == python_features(text), repr(text[:80])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=SCRIPTS + "ÉÀÇ ǅǈ ΣΔ ДЖ ẞ  \t\n", max_size=120))
def test_property_compiled_extractor_agrees_with_python(text: str) -> None:
    model = langid._model()
    assert model.features(model.clean(text))[0] == python_features(text)


@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_matches_langdetect_on_edge_cases(text: str) -> None:
    assert_same(text)


def test_no_features_raises_value_error_subclass() -> None:
    assert issubclass(LanguageDetectionError, ValueError)
    for text in ("", "   ", "12345", "!?.,;"):
        assert detect_or_none(text) is None
        with pytest.raises(LanguageDetectionError, match="No features in text"):
            detect(text)


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        detect(b"bytes are not text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        detect_or_none(None)  # type: ignore[arg-type]


def test_truncation_uses_first_10000_characters() -> None:
    english = "The quick brown fox jumps over the lazy dog and runs away. " * 200  # 11,800 characters
    french = "Le renard brun rapide saute par-dessus le chien paresseux. " * 400
    assert detect(english + french) == "en" == reference(english + french)


def test_leaves_global_random_state_and_detector_seed_untouched() -> None:
    langid._detect_cached.cache_clear()
    random.seed(1234)
    before = random.getstate()
    seed_before = DetectorFactory.seed
    for text in ("Ceci est une phrase écrite en français.", "This one is English, clearly.", ""):
        detect_or_none(text)
    assert random.getstate() == before
    assert DetectorFactory.seed == seed_before


def child_env(**extra: str) -> dict[str, str]:
    """The current environment with the repository first on PYTHONPATH (plus ``extra``)."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


_CHILD = """
import json, sys, threading
from ifverify.verifiers import langid
texts = json.loads(sys.stdin.read())
threads = [threading.Thread(target=langid.detect_or_none, args=(t,)) for t in texts * 2]  # racing lazy init
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
langid._detect_cached.cache_clear()
print(json.dumps([langid.detect_or_none(t) for t in texts]))
"""


def test_identical_results_across_processes() -> None:
    texts = [case for case in EDGE_CASES if len(case) < 1000]
    outputs = []
    for hash_seed in ("0", "4242"):
        done = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            env=child_env(PYTHONHASHSEED=hash_seed),
            check=True,
            cwd=REPO,
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == [detect_or_none(text) for text in texts]


def test_import_is_lazy() -> None:
    code = (
        "import sys, ifverify.verifiers; before = set(sys.modules)\n"
        "import ifverify.verifiers.langid, ifverify.verifiers._langid_model as m\n"
        "new = set(sys.modules) - before\n"
        "assert m._MODEL is None\n"
        "assert not any(n.split('.')[0] in ('numpy', 'langdetect', 'json', 'orjson') for n in new), new\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env(), cwd=REPO)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_property_arbitrary_unicode_matches_langdetect(text: str) -> None:
    assert detect_or_none(text) == reference(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=SCRIPTS, max_size=200))
def test_property_script_mixtures_match_langdetect(text: str) -> None:
    assert detect_or_none(text) == reference(text)
