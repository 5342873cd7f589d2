"""case family: case.whole (IFEval change_case:english_capital / change_case:english_lowercase) and
case.capital_words (change_case:capital_word_frequency)."""

from __future__ import annotations

from typing import Any

import pytest
from _constraint_support import (
    BLANK_RESPONSES,
    build,
    family_types,
)

from ifverify.rewards.scoring import loose_verdict, strict_verdict
from ifverify.verifiers.language import LANGUAGES

P = pytest.param
WHOLE = "case.whole"
CAPITAL = "change_case:english_capital"
LOWERCASE = "change_case:english_lowercase"
WORDS = "case.capital_words"
IFEVAL_WORDS = "change_case:capital_word_frequency"

UPPER = {"case": "upper"}
LOWER = {"case": "lower"}
UPPER_EN = {"case": "upper", "language": "en"}
LOWER_EN = {"case": "lower", "language": "en"}
AT_LEAST_2 = {"capital_frequency": 2, "capital_relation": "at least"}
LESS_THAN_2 = {"capital_frequency": 2, "capital_relation": "less than"}

ENGLISH_UPPER = "HELLO, THIS IS AN ENGLISH SENTENCE ABOUT THE WEATHER TODAY."
ENGLISH_LOWER = "hello, this is an english sentence about the weather today."
#: Long enough (over 2,000 characters) for case.capital_words to try its cheap bounds first.
LONG_PROSE = "Hello world, this is calm prose. " * 70

CASES = [
    # -- case.whole, native: str.isupper / str.islower, optional language ------------------------------------
    P(WHOLE, UPPER, "HELLO WORLD", True, id="whole_upper__all_capitals_pass"),
    P(WHOLE, UPPER, "HELLO World", False, id="whole_upper__one_lower_case_letter_fails"),
    P(WHOLE, UPPER, "HELLO 123, OK?!", True, id="whole_upper__digits_and_punctuation_ignored"),
    P(WHOLE, UPPER, "123 !?", False, id="whole_upper__no_cased_character_fails"),
    P(WHOLE, UPPER, "ÉCOLE ÜBER", True, id="whole_upper__accented_capitals"),
    P(WHOLE, LOWER, "hello world", True, id="whole_lower__all_lower_case_pass"),
    P(WHOLE, LOWER, "hello i am Here", False, id="whole_lower__one_capital_fails"),
    P(WHOLE, LOWER, "straße", True, id="whole_lower__sharp_s_is_lower_case"),
    P(WHOLE, UPPER, "", False, id="whole_upper__empty_fails"),
    P(WHOLE, LOWER, " \n\t ", False, id="whole_lower__whitespace_fails"),
    P(WHOLE, UPPER, "你好", False, id="whole_upper__cjk_has_no_case_and_fails"),
    P(WHOLE, UPPER, "你好 HELLO", True, id="whole_upper__cjk_with_capitals_passes"),
    P(WHOLE, LOWER, "你好 hello", True, id="whole_lower__cjk_with_lower_case_passes"),
    P(WHOLE, UPPER, "HELLO 😀🎉", True, id="whole_upper__emoji_ignored"),
    P(WHOLE, UPPER, "# TITLE\n\n**BOLD** - ITEM\n```\nCODE()\n```", True,
      id="whole_upper__markdown_noise_ignored"),
    P(WHOLE, UPPER, "Ⓐ", True, id="whole_upper__circled_capital_is_upper_case"),
    P(WHOLE, UPPER_EN, ENGLISH_UPPER, True, id="whole_upper_en__english_capitals_pass"),
    P(WHOLE, UPPER_EN, "C'EST UNE PHRASE EN FRANÇAIS SUR LE TEMPS QU'IL FAIT AUJOURD'HUI.", True,
      id="whole_upper_en__langdetect_ignores_runs_of_capitals"),
    P(WHOLE, LOWER_EN, ENGLISH_LOWER, True, id="whole_lower_en__english_lower_case_passes"),
    P(WHOLE, LOWER_EN, "das ist ein deutscher satz über das wetter von heute.", False,
      id="whole_lower_en__german_fails"),
    P(WHOLE, {"case": "lower", "language": "de"}, "das ist ein deutscher satz über das wetter von heute.",
      True,
      id="whole_lower_de__german_passes"),
    P(WHOLE, UPPER_EN, "Ⓐ", False, id="whole_upper_en_native__undetectable_language_fails"),
    P(WHOLE, {**UPPER_EN, "semantics": "ifeval"}, "Ⓐ", True, id="whole_upper_en_ifeval__undetectable_passes"),
    # -- IFEval aliases pin English and count an undetectable text as English -------------------------------
    P(CAPITAL, {}, ENGLISH_UPPER, True, id="capital_ifeval__english_capitals_pass"),
    P(CAPITAL, {}, "HELLO, this is mixed.", False, id="capital_ifeval__mixed_case_fails"),
    P(CAPITAL, {}, "C'EST UNE PHRASE EN FRANÇAIS SUR LE TEMPS QU'IL FAIT AUJOURD'HUI.", True,
      id="capital_ifeval__french_capitals_pass_as_langdetect_ignores_runs_of_capitals"),
    P(CAPITAL, {}, "Ⓐ", True, id="capital_ifeval__undetectable_language_passes"),
    P(CAPITAL, {}, "123", False, id="capital_ifeval__no_cased_character_fails_before_detection"),
    P(CAPITAL, {}, "", False, id="capital_ifeval__empty_fails"),
    P(CAPITAL, {}, "你好 HELLO", False, id="capital_ifeval__cjk_with_capitals_is_not_english"),
    P(CAPITAL, {}, "# WEATHER\n\n**TODAY** IT IS *SUNNY* AND WARM 😀", True,
      id="capital_ifeval__markdown_emoji"),
    P(LOWERCASE, {}, ENGLISH_LOWER, True, id="lowercase_ifeval__english_lower_case_passes"),
    P(LOWERCASE, {}, "hello, i am Here.", False, id="lowercase_ifeval__one_capital_fails"),
    P(LOWERCASE, {}, "ceci est une phrase en français sur le temps qu'il fait aujourd'hui.", False,
      id="lowercase_ifeval__french_fails"),
    P(LOWERCASE, {}, "ⓐ ⓑ", True, id="lowercase_ifeval__undetectable_language_passes"),
    P(LOWERCASE, {}, " \n", False, id="lowercase_ifeval__whitespace_fails"),
    # -- capital words: nltk.word_tokenize tokens that are str.isupper --------------------------------------
    P(IFEVAL_WORDS, AT_LEAST_2, "NASA only", False, id="words__at_least_boundary_n_minus_1_fails"),
    P(IFEVAL_WORDS, AT_LEAST_2, "NASA and ESA", True, id="words__at_least_boundary_n_passes"),
    P(IFEVAL_WORDS, AT_LEAST_2, "NASA, ESA and JAXA", True, id="words__at_least_boundary_n_plus_1_passes"),
    P(IFEVAL_WORDS, LESS_THAN_2, "NASA only", True, id="words__less_than_boundary_n_minus_1_passes"),
    P(IFEVAL_WORDS, LESS_THAN_2, "NASA and ESA", False, id="words__less_than_boundary_n_fails"),
    P(IFEVAL_WORDS, LESS_THAN_2, "NASA, ESA and JAXA", False, id="words__less_than_boundary_n_plus_1_fails"),
    P(IFEVAL_WORDS, AT_LEAST_2, "I think I can", True, id="words__pronoun_i_counts"),
    P(IFEVAL_WORDS, LESS_THAN_2, "The U.S. economy", True, id="words__dotted_abbreviation_counts_once"),
    P(IFEVAL_WORDS, LESS_THAN_2, "A WELL-KNOWN fact", False, id="words__hyphenated_counts_once_plus_a"),
    P(IFEVAL_WORDS, AT_LEAST_2, "NASA's and ESA's plans", True, id="words__possessive_split_off"),
    P(IFEVAL_WORDS, AT_LEAST_2, "CANNOT stop", True, id="words__contraction_split_into_two_capitals"),
    P(IFEVAL_WORDS, LESS_THAN_2, "Hello World", True, id="words__title_case_does_not_count"),
    P(IFEVAL_WORDS, {"capital_frequency": 1, "capital_relation": "at least"}, "", False,
      id="words__empty_has_none"),
    P(IFEVAL_WORDS, {"capital_frequency": 1, "capital_relation": "less than"}, " \n\t", True,
      id="words__whitespace_has_none"),
    P(WORDS, {"frequency": 0, "relation": "at least"}, "", True, id="words__at_least_zero_always_passes"),
    P(IFEVAL_WORDS, LESS_THAN_2, "你好 NASA", True, id="words__cjk_has_no_case"),
    P(IFEVAL_WORDS, AT_LEAST_2, "你好NASA世界ESA", False, id="words__capitals_glued_to_cjk_are_one_token"),
    P(IFEVAL_WORDS, AT_LEAST_2, "🎉 NASA 🎉 ESA", True, id="words__emoji_between"),
    P(IFEVAL_WORDS, AT_LEAST_2, "**NASA** and *ESA*", True, id="words__markdown_emphasis_marks_split_off"),
    P(IFEVAL_WORDS, AT_LEAST_2, "# NASA\n- ESA", True, id="words__heading_and_bullet"),
    P(IFEVAL_WORDS, LESS_THAN_2, "```\nPRINT(X)\n```", False, id="words__code_fence_contents_count"),
    P(IFEVAL_WORDS, AT_LEAST_2, "ⒶⒷ Ⓒ", True, id="words__circled_capitals_count"),
    P(IFEVAL_WORDS, {"capital_frequency": 400, "capital_relation": "at least"}, "NASA " * 500, True,
      id="words__long_text_decided_by_lower_bound"),
    P(IFEVAL_WORDS, {"capital_frequency": 1, "capital_relation": "at least"}, LONG_PROSE, False,
      id="words__long_text_without_capital_words"),
    P(IFEVAL_WORDS, {"capital_frequency": 1, "capital_relation": "at least"}, LONG_PROSE + "NASA's plan.",
      True,
      id="words__long_text_capital_word_only_the_tokenizer_finds"),
    P(IFEVAL_WORDS, {"capital_frequency": 3, "capital_relation": "less than"}, LONG_PROSE + "I AM HERE",
      False,
      id="words__long_text_exact_count_at_threshold"),
    P(WORDS, {"frequency": 2, "relation": "at least"}, "NASA and ESA", True,
      id="words_native__same_as_ifeval"),
]

NOT_IN_REFERENCE: dict[str, str] = {}


ALL_LANGUAGES = ", ".join(repr(code) for code in LANGUAGES)

PARAMS_ERRORS = [
    P(WHOLE, {}, "case.whole: param 'case' received nothing (missing), expected one of 'upper', 'lower'",
      id="whole__missing_case"),
    P(WHOLE, {"case": "title"}, "case.whole: param 'case' received 'title', expected one of 'upper', 'lower'",
      id="whole__title_case_is_not_offered"),
    P(WHOLE, {"case": "upper", "language": "english"},
      f"case.whole: param 'language' received 'english', expected one of {ALL_LANGUAGES}",
      id="whole__language_name_instead_of_code"),
    P(CAPITAL, {"language": "en", "case": "upper", "extra": 1},
      "change_case:english_capital: param 'extra' received 1, expected no such param "
      "(allowed: none)", id="capital__unknown_param"),
    P(IFEVAL_WORDS, {"capital_relation": "at least"},
      "change_case:capital_word_frequency: param 'capital_frequency' received nothing (missing), expected an "
      "integer >= 0", id="words_alias__missing_renamed_frequency"),
    P(IFEVAL_WORDS, {"capital_frequency": 2, "capital_relation": "at most"},
      "change_case:capital_word_frequency: param 'capital_relation' received 'at most', expected one of "
      "'less than', 'at least'", id="words_alias__at_most_is_not_a_relation"),
    P(WORDS, {"frequency": -3, "relation": "less than"},
      "case.capital_words: param 'frequency' received -3, expected an integer >= 0", id="words__negative"),
]


def test_family__types() -> None:
    assert [cls.id for cls in family_types("case")] == [WORDS, WHOLE]


@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__check_passes_but_strict_and_loose_fail(response: str) -> None:
    constraint = build(IFEVAL_WORDS, LESS_THAN_2)
    assert constraint.check(response) is True
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


@pytest.mark.parametrize(("constraint_id", "params", "response", "strict", "loose"), [
    P(LOWERCASE, {}, "Sure! Here it is:\n" + ENGLISH_LOWER, False, True,
      id="lowercase__loose_drops_a_preamble"),
    P(WHOLE, UPPER, "HELLO THERE\nGenerated by a model", False, True,
      id="whole_upper__loose_drops_a_last_line"),
    P(IFEVAL_WORDS, LESS_THAN_2, "NASA and ESA", False, False, id="words__loose_cannot_cut_inside_a_line"),
])
def test_strict_and_loose_verdicts(constraint_id: str, params: dict[str, Any], response: str, strict: bool,
                                   loose: bool) -> None:
    constraint = build(constraint_id, params)
    assert strict_verdict(constraint, response) is strict
    assert loose_verdict(constraint, response) is loose
