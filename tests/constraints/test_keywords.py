"""keywords family: keywords.presence (keywords:existence, keywords:forbidden_words), keywords.frequency
(keywords:frequency) and keywords.letter_frequency (keywords:letter_frequency)."""

from __future__ import annotations

from typing import Any

import pytest
from _constraint_support import (
    BLANK_RESPONSES,
    build,
    family_types,
)

from ifverify.rewards.scoring import loose_verdict, strict_verdict

P = pytest.param
PRESENCE = "keywords.presence"
EXISTENCE = "keywords:existence"
FORBIDDEN = "keywords:forbidden_words"
FREQUENCY = "keywords.frequency"
IFEVAL_FREQUENCY = "keywords:frequency"
LETTER = "keywords.letter_frequency"
IFEVAL_LETTER = "keywords:letter_frequency"

CAT_DOG = {"keywords": ["cat", "dog"]}
NO_CAT = {"keywords": ["cat"], "mode": "exclude"}
CAT_AT_LEAST_2 = {"keyword": "cat", "frequency": 2, "relation": "at least"}
CAT_LESS_THAN_2 = {"keyword": "cat", "frequency": 2, "relation": "less than"}
A_AT_LEAST_3 = {"letter": "a", "frequency": 3, "relation": "at least"}
A_LESS_THAN_3 = {"letter": "a", "frequency": 3, "relation": "less than"}

CASES = [
    # -- keywords.presence, native: literal, whole words, case-insensitive ----------------------------------
    P(PRESENCE, CAT_DOG, "A cat and a dog.", True, id="presence__include_all_present_passes"),
    P(PRESENCE, CAT_DOG, "A cat alone.", False, id="presence__include_one_missing_fails"),
    P(PRESENCE, CAT_DOG, "CAT and Dog", True, id="presence__case_insensitive"),
    P(PRESENCE, {"keywords": ["cat"]}, "A category of things.", False,
      id="presence_native__cat_not_matched_inside_category"),
    P(PRESENCE, {"keywords": ["c.t"]}, "a cut above", False, id="presence_native__dot_is_literal"),
    P(PRESENCE, {"keywords": ["c.t"]}, "see c.t scan", True, id="presence_native__dotted_keyword_found"),
    P(PRESENCE, {"keywords": ["C++"]}, "I write C++ daily.", True, id="presence_native__cpp_is_not_a_regex"),
    P(PRESENCE, {"keywords": ["C++"]}, "I write C daily.", False, id="presence_native__cpp_absent"),
    P(PRESENCE, {"keywords": ["ice cream"]}, "I like ICE CREAM!", True, id="presence_native__phrase_keyword"),
    P(PRESENCE, NO_CAT, "A category of birds.", True, id="presence_native__exclude_ignores_category"),
    P(PRESENCE, NO_CAT, "The Cat sat.", False, id="presence_native__exclude_present_fails"),
    P(PRESENCE, {"keywords": ["cat|dog"], "mode": "exclude"}, "a dog barked", True,
      id="presence_native__exclude_pipe_is_literal"),
    P(PRESENCE, CAT_DOG, "", False, id="presence__include_empty_fails"),
    P(PRESENCE, CAT_DOG, " \n\t ", False, id="presence__include_whitespace_fails"),
    P(PRESENCE, NO_CAT, "", True, id="presence__exclude_empty_passes_at_check_level"),
    P(PRESENCE, {"keywords": ["猫"]}, "我的 猫 很可爱", True,
      id="presence_native__cjk_keyword_between_spaces"),
    P(PRESENCE, {"keywords": ["猫"]}, "我的猫很可爱", True,
      id="presence_native__cjk_keyword_matches_inside_unspaced_script"),
    P(PRESENCE, {"keywords": ["cat"]}, "我的cat很可爱", False,
      id="presence_native__latin_keyword_glued_to_cjk_is_not_a_whole_word"),
    P(PRESENCE, {"keywords": ["🐱"]}, "I love 🐱🐱!", True, id="presence_native__emoji_keyword"),
    P(PRESENCE, {"keywords": ["cat"]}, "🐱cat🐱", True, id="presence_native__emoji_is_a_word_boundary"),
    P(PRESENCE, CAT_DOG, "# Cat\n* **dog** food\n```\ncat = 1\n```", True,
      id="presence_native__markdown_heading_bold_fence"),
    P(PRESENCE, {"keywords": ["dog"]}, "my _dog_ sleeps", True,
      id="presence_native__underscore_emphasis_is_a_boundary"),
    P(PRESENCE, {"keywords": ["dog"]}, "my dog2 sleeps", False,
      id="presence_native__digit_glued_is_not_a_boundary"),
    # -- IFEval aliases: raw regex (existence: substring; forbidden: between \b) -------------------------
    P(EXISTENCE, {"keywords": ["cat"]}, "A category of things.", True,
      id="existence_ifeval__cat_matches_inside_category"),
    P(EXISTENCE, {"keywords": ["c.t"]}, "a cut above", True, id="existence_ifeval__dot_is_a_regex"),
    P(EXISTENCE, {"keywords": ["Cat", "dog"]}, "DOG and cAt", True, id="existence_ifeval__case_insensitive"),
    P(EXISTENCE, {"keywords": ["cat", "dog"]}, "only a cat", False, id="existence_ifeval__one_missing_fails"),
    P(EXISTENCE, {"keywords": ["cat"]}, "", False, id="existence_ifeval__empty_fails"),
    P(EXISTENCE, {"keywords": ["猫"]}, "我的猫很可爱", True, id="existence_ifeval__cjk_substring_matches"),
    P(EXISTENCE, {"keywords": ["dog"]}, "my _dog_ sleeps", True, id="existence_ifeval__underscore_emphasis"),
    P(FORBIDDEN, {"forbidden_words": ["cat"]}, "A category of things.", True,
      id="forbidden_ifeval__word_boundary_allows_category"),
    P(FORBIDDEN, {"forbidden_words": ["cat", "dog"]}, "No pets. Only a DOG.", False,
      id="forbidden_ifeval__present_fails"),
    P(FORBIDDEN, {"forbidden_words": ["cat|dog"]}, "a dog barked", False,
      id="forbidden_ifeval__pipe_is_regex_alternation"),
    P(FORBIDDEN, {"forbidden_words": ["cat"]}, "", True, id="forbidden_ifeval__empty_passes_at_check_level"),
    P(FORBIDDEN, {"forbidden_words": ["a\\"]}, "x a\\b y", False,
      id="forbidden_ifeval__trailing_backslash_escapes_the_closing_boundary_backslash"),
    P(FORBIDDEN, {"forbidden_words": ["a\\"]}, "x a y", True,
      id="forbidden_ifeval__trailing_backslash_absent"),
    P(EXISTENCE, {"keywords": ["(?i)CAT"]}, "a cat", True,
      id="existence_ifeval__leading_inline_flags_are_valid"),
    P(FORBIDDEN, {"forbidden_words": ["猫"]}, "我的猫很可爱", True,
      id="forbidden_ifeval__cjk_inside_run_has_no_word_boundary"),
    P(FORBIDDEN, {"forbidden_words": ["cat"]}, "**cat** 🐱", False, id="forbidden_ifeval__bold_markdown"),
    # -- keywords.frequency, native -----------------------------------------------------------------------
    P(FREQUENCY, CAT_AT_LEAST_2, "a cat", False, id="frequency__at_least_boundary_n_minus_1_fails"),
    P(FREQUENCY, CAT_AT_LEAST_2, "a cat, a cat", True, id="frequency__at_least_boundary_n_passes"),
    P(FREQUENCY, CAT_AT_LEAST_2, "cat cat cat", True, id="frequency__at_least_boundary_n_plus_1_passes"),
    P(FREQUENCY, CAT_LESS_THAN_2, "a cat", True, id="frequency__less_than_boundary_n_minus_1_passes"),
    P(FREQUENCY, CAT_LESS_THAN_2, "a cat, a CAT", False, id="frequency__less_than_boundary_n_fails"),
    P(FREQUENCY, CAT_LESS_THAN_2, "Cat cat cat", False, id="frequency__less_than_boundary_n_plus_1_fails"),
    P(FREQUENCY, CAT_AT_LEAST_2, "cat category concatenate", False,
      id="frequency_native__counts_whole_words_only"),
    P(FREQUENCY, {**CAT_AT_LEAST_2, "keyword": "  cat "}, "cat cat", True,
      id="frequency_native__keyword_is_stripped"),
    P(FREQUENCY, {"keyword": "c.t", "frequency": 1, "relation": "at least"}, "cut cot", False,
      id="frequency_native__dot_is_literal"),
    P(FREQUENCY, {"keyword": "cat", "frequency": 0, "relation": "at least"}, "", True,
      id="frequency__at_least_zero_always_passes"),
    P(FREQUENCY, {"keyword": "cat", "frequency": 0, "relation": "less than"}, "no pets", False,
      id="frequency__less_than_zero_never_passes"),
    P(FREQUENCY, {"keyword": "cat", "frequency": 1, "relation": "less than"}, "", True,
      id="frequency__empty_has_zero_occurrences"),
    P(FREQUENCY, {"keyword": "cat", "frequency": 1, "relation": "at least"}, "  \n ", False,
      id="frequency__whitespace_has_zero_occurrences"),
    P(FREQUENCY, {"keyword": "猫", "frequency": 2, "relation": "at least"}, "猫 和 猫", True,
      id="frequency_native__cjk_spaced"),
    P(FREQUENCY, {"keyword": "猫", "frequency": 3, "relation": "at least"}, "猫猫猫", True,
      id="frequency_native__cjk_unspaced_each_occurrence_counts"),
    P(FREQUENCY, {"keyword": "🐱", "frequency": 3, "relation": "at least"}, "🐱🐱🐱", True,
      id="frequency_native__adjacent_emoji_each_count"),
    P(FREQUENCY, {"keyword": "cat", "frequency": 3, "relation": "at least"}, "# Cat\n- **cat**\n`CAT`", True,
      id="frequency__markdown_noise_counts_each"),
    P(IFEVAL_FREQUENCY, CAT_AT_LEAST_2, "cat category", True, id="frequency_ifeval__counts_cat_in_category"),
    P(IFEVAL_FREQUENCY, CAT_AT_LEAST_2, "a cat", False,
      id="frequency_ifeval__at_least_boundary_n_minus_1_fails"),
    P(IFEVAL_FREQUENCY, CAT_AT_LEAST_2, "a cat, a cat", True,
      id="frequency_ifeval__at_least_boundary_n_passes"),
    P(IFEVAL_FREQUENCY, CAT_LESS_THAN_2, "Cat", True,
      id="frequency_ifeval__less_than_boundary_n_minus_1_passes"),
    P(IFEVAL_FREQUENCY, CAT_LESS_THAN_2, "cat CAT", False, id="frequency_ifeval__less_than_boundary_n_fails"),
    P(IFEVAL_FREQUENCY, {**CAT_AT_LEAST_2, "keyword": " cat "}, "cat concat", True,
      id="frequency_ifeval__keyword_is_stripped"),
    P(IFEVAL_FREQUENCY, {"keyword": "c.t", "frequency": 2, "relation": "at least"}, "cut cot", True,
      id="frequency_ifeval__dot_is_a_regex"),
    P(IFEVAL_FREQUENCY, {"keyword": "猫", "frequency": 3, "relation": "at least"}, "猫猫猫", True,
      id="frequency_ifeval__cjk_substring_counts"),
    P(IFEVAL_FREQUENCY, {"keyword": "cat", "frequency": 1, "relation": "less than"}, "", True,
      id="frequency_ifeval__empty_passes_less_than"),
    # -- keywords.letter_frequency: case-insensitive character count, never random ---------------------------
    P(LETTER, A_AT_LEAST_3, "banan", False, id="letter__at_least_boundary_n_minus_1_fails"),
    P(LETTER, A_AT_LEAST_3, "banana", True, id="letter__at_least_boundary_n_passes"),
    P(LETTER, A_AT_LEAST_3, "bananas are fab", True, id="letter__at_least_boundary_n_plus_1_passes"),
    P(LETTER, A_LESS_THAN_3, "banan", True, id="letter__less_than_boundary_n_minus_1_passes"),
    P(LETTER, A_LESS_THAN_3, "BANANA", False, id="letter__less_than_boundary_n_fails_case_insensitive"),
    P(LETTER, A_LESS_THAN_3, "Aaaa", False, id="letter__less_than_boundary_n_plus_1_fails"),
    P(LETTER, {**A_AT_LEAST_3, "letter": "A"}, "aaa", True, id="letter__upper_case_target_counts_lower"),
    P(LETTER, A_AT_LEAST_3, "", False, id="letter__empty_has_zero"),
    P(LETTER, A_LESS_THAN_3, " \n\t", True, id="letter__whitespace_has_zero"),
    P(LETTER, {"letter": "#", "frequency": 3, "relation": "at least"}, "# Title\n## Part", True,
      id="letter_native__non_letter_target_counted_literally"),
    P(IFEVAL_LETTER, {"letter": "#", "let_frequency": 3, "let_relation": "at least"}, "# Title\n## Part",
      True, id="letter_alias__non_letter_target_counted_not_random"),
    P(LETTER, {"letter": "猫", "frequency": 2, "relation": "at least"}, "猫和猫", True,
      id="letter__cjk_target"),
    P(LETTER, {"letter": "😀", "frequency": 2, "relation": "less than"}, "😀 hi 😀", False,
      id="letter__emoji_target"),
    P(LETTER, A_AT_LEAST_3, "**a** _a_ `a`", True, id="letter__markdown_noise"),
    P(IFEVAL_LETTER, {"letter": "a", "let_frequency": 3, "let_relation": "at least"}, "Banana", True,
      id="letter_ifeval__at_least_boundary_n_passes"),
    P(IFEVAL_LETTER, {"letter": "a", "let_frequency": 3, "let_relation": "at least"}, "Bana", False,
      id="letter_ifeval__at_least_boundary_n_minus_1_fails"),
    P(IFEVAL_LETTER, {"letter": "E", "let_frequency": 2, "let_relation": "less than"}, "Emé", True,
      id="letter_ifeval__accented_letter_is_another_character"),
    P(IFEVAL_LETTER, {"letter": "z", "let_frequency": 1, "let_relation": "less than"}, "你好 😀", True,
      id="letter_ifeval__cjk_emoji_text_has_zero"),
]

#: Alias rows whose reference verdict is not comparable, and why.
NOT_IN_REFERENCE = {
    "letter_alias__non_letter_target_counted_not_random":
        "IFEval swaps a non-letter target for a random letter",
}


REGEX_ERROR = ("a valid regular expression under semantics 'ifeval' ({}); "
               "semantics 'native' matches it literally")

PARAMS_ERRORS = [
    P(EXISTENCE, {"keywords": ["cat", "("]},
      "keywords:existence: param 'keywords' received '(', expected "
      + REGEX_ERROR.format("missing ), unterminated subpattern"),
      id="existence__keyword_not_a_valid_regex"),
    P(FORBIDDEN, {"forbidden_words": ["[a-"]},
      "keywords:forbidden_words: param 'forbidden_words' received '[a-', expected "
      + REGEX_ERROR.format("bad character range a-\\b"),
      id="forbidden__word_not_a_valid_regex_inside_word_boundaries"),
    P(IFEVAL_FREQUENCY, {"keyword": "*cat", "frequency": 1, "relation": "at least"},
      "keywords:frequency: param 'keyword' received '*cat', expected "
      + REGEX_ERROR.format("nothing to repeat"),
      id="frequency_ifeval__keyword_not_a_valid_regex"),
    P(FORBIDDEN, {"forbidden_words": ["(?i)cat"]},
      "keywords:forbidden_words: param 'forbidden_words' received '(?i)cat', expected "
      + REGEX_ERROR.format("global flags not at the start of the expression"),
      id="forbidden__inline_flags_invalid_after_word_boundary"),
    P(PRESENCE, {"keywords": ["("], "mode": "exclude", "semantics": "ifeval"},
      "keywords.presence: param 'keywords' received '(', expected "
      + REGEX_ERROR.format("missing ), unterminated subpattern"),
      id="presence_native_id_with_ifeval_semantics__names_the_param_given"),
    P(IFEVAL_FREQUENCY, {"keyword": " *cat ", "frequency": 1, "relation": "at least"},
      "keywords:frequency: param 'keyword' received ' *cat ', expected "
      + REGEX_ERROR.format("nothing to repeat"),
      id="frequency_ifeval__message_shows_the_keyword_as_given"),
    P(PRESENCE, {}, "keywords.presence: param 'keywords' received nothing (missing), expected an array "
                    "with at least 1 item(s)", id="presence__missing_keywords"),
    P(PRESENCE, {"keywords": []}, "keywords.presence: param 'keywords' received [], expected an array "
                                  "with at least 1 item(s)", id="presence__empty_keyword_list"),
    P(PRESENCE, {"keywords": "cat"}, "keywords.presence: param 'keywords' received 'cat', expected an array "
                                     "with at least 1 item(s)", id="presence__string_instead_of_list"),
    P(PRESENCE, {"keywords": ["cat", " "]},
      "keywords.presence: param 'keywords[1]' received ' ', expected a string of at least 1 character(s) "
      "of at most 128 character(s) matching '\\\\S'", id="presence__blank_keyword"),
    P(PRESENCE, {"keywords": ["cat"], "mode": "avoid"},
      "keywords.presence: param 'mode' received 'avoid', expected one of 'include', 'exclude'",
      id="presence__bad_mode"),
    P(FORBIDDEN, {"forbidden_words": ["cat"], "words": 1},
      "keywords:forbidden_words: param 'words' received 1, expected no such param "
      "(allowed: forbidden_words)", id="forbidden__unknown_param_lists_alias_names"),
    P(FREQUENCY, {"keyword": "cat", "frequency": -1, "relation": "at least"},
      "keywords.frequency: param 'frequency' received -1, expected an integer >= 0",
      id="frequency__negative_frequency"),
    P(FREQUENCY, {"keyword": "cat", "frequency": 2.5, "relation": "at least"},
      "keywords.frequency: param 'frequency' received 2.5, expected an integer >= 0",
      id="frequency__fractional_frequency"),
    P(IFEVAL_LETTER, {"letter": "a", "let_relation": "at least"},
      "keywords:letter_frequency: param 'let_frequency' received nothing (missing), expected an integer >= 0",
      id="letter_alias__missing_renamed_param"),
    P(IFEVAL_LETTER, {"letter": "a", "let_frequency": 2, "let_relation": "at most"},
      "keywords:letter_frequency: param 'let_relation' received 'at most', expected one of 'less than', "
      "'at least'", id="letter_alias__bad_relation"),
    P(LETTER, {"letter": "ab", "frequency": 2, "relation": "at least"},
      "keywords.letter_frequency: param 'letter' received 'ab', expected a string of at least 1 character(s) "
      "of at most 1 character(s) matching '\\\\S'", id="letter__two_characters"),
]


def test_native_keywords_that_are_bad_regexes__are_fine() -> None:
    assert build(PRESENCE, {"keywords": ["(", "[a-"]}).check("see ( and [a- here")
    assert build(FREQUENCY, {"keyword": "*cat", "frequency": 1, "relation": "at least"}).check("a *cat")


def test_family__types() -> None:
    assert [cls.id for cls in family_types("keywords")] == [FREQUENCY, LETTER, PRESENCE]


@pytest.mark.parametrize(("constraint_id", "params"), [
    P(FORBIDDEN, {"forbidden_words": ["cat"]}, id="forbidden"),
    P(FREQUENCY, CAT_LESS_THAN_2, id="frequency_less_than"),
    P(LETTER, A_LESS_THAN_3, id="letter_less_than"),
])
@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__check_passes_but_strict_and_loose_fail(constraint_id: str, params: dict[str, Any],
                                                                 response: str) -> None:
    constraint = build(constraint_id, params)
    assert constraint.check(response) is True
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


def test_loose__drops_a_first_line_that_breaks_the_rule() -> None:
    constraint = build(FORBIDDEN, {"forbidden_words": ["sure"]})
    response = "Sure! Here it is:\nA short answer."
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is True
