"""language family: language.response (IFEval language:response_language), by langdetect 1.0.9 with seed 0.

Native semantics fail a response in which no language can be detected; the IFEval alias passes it.
"""

from __future__ import annotations

import pytest
from _constraint_support import (
    BLANK_RESPONSES,
    build,
    family_types,
)

from ifverify.rewards.scoring import loose_verdict, strict_verdict
from ifverify.verifiers.language import LANGUAGES

P = pytest.param
NATIVE = "language.response"
IFEVAL = "language:response_language"
EN = {"language": "en"}

ENGLISH = "This is a plain English sentence about the weather today."
FRENCH = "Ceci est une phrase en français sur le temps qu'il fait aujourd'hui."
GERMAN = "Das ist ein deutscher Satz über das Wetter von heute."
CHINESE = "你好，世界。今天天气很好，我们去公园散步吧。"
JAPANESE = "今日はいい天気ですね。散歩に行きましょう。"
KOREAN = "오늘 날씨가 정말 좋네요. 산책하러 갈까요?"
MARKDOWN = ("# Weather report\n\n**Today** the weather is *sunny* and warm.\n"
            "- morning: mild\n- evening: cool\n```\nprint(forecast)\n```")

CASES = [
    P(NATIVE, EN, ENGLISH, True, id="native__english_passes"),
    P(NATIVE, EN, FRENCH, False, id="native__french_fails_english"),
    P(NATIVE, {"language": "fr"}, FRENCH, True, id="native__french_passes_french"),
    P(NATIVE, {"language": "de"}, GERMAN, True, id="native__german_passes_german"),
    P(NATIVE, EN, "", False, id="native__empty_is_undetectable_and_fails"),
    P(NATIVE, EN, " \n\t ", False, id="native__whitespace_is_undetectable_and_fails"),
    P(NATIVE, EN, "12345 67 3.14", False, id="native__digits_only_fail"),
    P(NATIVE, EN, "😀🎉 👍", False, id="native__emoji_only_fail"),
    P(NATIVE, EN, "!!! ... ???", False, id="native__punctuation_only_fails"),
    P(NATIVE, {"language": "zh-cn"}, CHINESE, True, id="native__chinese_simplified"),
    P(NATIVE, {"language": "zh-tw"}, CHINESE, False, id="native__simplified_is_not_traditional"),
    P(NATIVE, {"language": "ja"}, JAPANESE, True, id="native__japanese"),
    P(NATIVE, EN, JAPANESE, False, id="native__japanese_is_not_english"),
    P(NATIVE, EN, "I love sunny days 😀🎉 and long walks on the beach.", True, id="native__emoji_in_english"),
    P(NATIVE, EN, MARKDOWN, True, id="native__markdown_noise_is_still_english"),
    P(NATIVE, {"language": "en", "semantics": "ifeval"}, "", True,
      id="native_with_ifeval_semantics__empty_passes"),
    # -- IFEval alias: langdetect failure counts as followed -----------------------------------------------
    P(IFEVAL, EN, ENGLISH, True, id="ifeval__english_passes"),
    P(IFEVAL, EN, FRENCH, False, id="ifeval__french_fails_english"),
    P(IFEVAL, {"language": "fr"}, FRENCH, True, id="ifeval__french_passes_french"),
    P(IFEVAL, EN, "", True, id="ifeval__empty_is_undetectable_and_passes"),
    P(IFEVAL, {"language": "hi"}, " \n\t ", True, id="ifeval__whitespace_is_undetectable_and_passes"),
    P(IFEVAL, EN, "12345 67 3.14", True, id="ifeval__digits_only_pass"),
    P(IFEVAL, {"language": "ko"}, "😀🎉 👍", True, id="ifeval__emoji_only_pass"),
    P(IFEVAL, {"language": "ja"}, JAPANESE, True, id="ifeval__japanese"),
    P(IFEVAL, {"language": "ko"}, KOREAN, True, id="ifeval__korean"),
    P(IFEVAL, {"language": "ko"}, JAPANESE, False, id="ifeval__japanese_is_not_korean"),
    P(IFEVAL, {"language": "ru"}, "Привет, как дела? Всё хорошо, спасибо!", True, id="ifeval__russian"),
    P(IFEVAL, EN, MARKDOWN, True, id="ifeval__markdown_noise_is_still_english"),
    P(NATIVE, EN, "https://example.com/only/a/url", False, id="native__url_only_is_undetectable_and_fails"),
    P(IFEVAL, EN, "https://example.com/only/a/url", True, id="ifeval__url_only_is_undetectable_and_passes"),
    P(NATIVE, {"language": "ja"}, "\u3000", True, id="native__lone_ideographic_space_is_detected_japanese"),
    P(IFEVAL, EN, "\u3000", False, id="ifeval__lone_ideographic_space_is_detected_japanese"),
]

NOT_IN_REFERENCE: dict[str, str] = {}


ALL_LANGUAGES = ", ".join(repr(code) for code in LANGUAGES)

PARAMS_ERRORS = [
    P(NATIVE, {}, f"language.response: param 'language' received nothing (missing), expected one of "
                  f"{ALL_LANGUAGES}", id="native__missing_language"),
    P(IFEVAL, {"language": "zh"}, f"language:response_language: param 'language' received 'zh', expected one "
                                  f"of {ALL_LANGUAGES}", id="ifeval__code_langdetect_never_returns"),
    P(NATIVE, {"language": "EN"}, f"language.response: param 'language' received 'EN', expected one of "
                                  f"{ALL_LANGUAGES}", id="native__codes_are_lower_case"),
    P(NATIVE, {"language": "en", "semantics": "strict"},
      "language.response: param 'semantics' received 'strict', expected one of 'native', 'ifeval'",
      id="native__bad_semantics"),
    P(IFEVAL, {"language": "en", "lang": "fr"},
      "language:response_language: param 'lang' received 'fr', expected no such param "
      "(allowed: language)", id="ifeval__unknown_param"),
]


def test_language_list__is_what_langdetect_can_return() -> None:
    assert len(LANGUAGES) == 55
    assert {"en", "zh-cn", "zh-tw", "ja", "ko", "hi", "sw"} <= set(LANGUAGES)


def test_family__types() -> None:
    assert [cls.id for cls in family_types("language")] == [NATIVE]


@pytest.mark.parametrize("response", [P("", id="empty"), P(" \n\t ", id="ascii_whitespace")])
def test_blank_response__ifeval_check_passes_but_strict_and_loose_fail(response: str) -> None:
    constraint = build(IFEVAL, EN)
    assert constraint.check(response) is True
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__native_check_strict_and_loose_fail(response: str) -> None:
    constraint = build(NATIVE, {"language": "ja"})
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


def test_loose__drops_a_foreign_first_line() -> None:
    constraint = build(NATIVE, {"language": "fr"})
    response = ("Sure! Here is my answer, written entirely in the French language as you asked me to do:\n"
                "Bonjour tout le monde, comment allez-vous?")
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is True
