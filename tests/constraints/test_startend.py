"""startend family: startend.end_phrase (IFEval startend:end_checker) and startend.quotation
(startend:quotation)."""

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
END = "startend.end_phrase"
IFEVAL_END = "startend:end_checker"
QUOTE = "startend.quotation"
IFEVAL_QUOTE = "startend:quotation"

QUESTIONS = {"end_phrase": "Any other questions?"}

CASES = [
    # -- end phrase: stripped of white space, then of double quotes, compared lower-cased ------------------
    P(IFEVAL_END, QUESTIONS, "Here you go. Any other questions?", True, id="end__phrase_at_end_passes"),
    P(IFEVAL_END, QUESTIONS, "Any other questions? Thanks.", False, id="end__words_after_phrase_fail"),
    P(IFEVAL_END, QUESTIONS, "Done. Any other questions", False, id="end__missing_question_mark_fails"),
    P(IFEVAL_END, QUESTIONS, "Done. ANY OTHER QUESTIONS?", True, id="end__case_insensitive"),
    P(IFEVAL_END, QUESTIONS, "Done. Any other questions?  \n\n", True, id="end__trailing_whitespace_ignored"),
    P(IFEVAL_END, QUESTIONS, '"Done. Any other questions?"', True, id="end__wrapping_double_quotes_ignored"),
    P(IFEVAL_END, QUESTIONS, "'Done. Any other questions?'", False, id="end__single_quotes_not_ignored"),
    P(IFEVAL_END, QUESTIONS, "Done. Any other questions?”", False, id="end__curly_quote_not_ignored"),
    P(IFEVAL_END, QUESTIONS, "Done. Any other  questions?", False, id="end__inner_whitespace_must_match"),
    P(IFEVAL_END, {"end_phrase": "  Any other questions?\n"}, "Ok. Any other questions?", True,
      id="end__phrase_stripped"),
    P(IFEVAL_END, QUESTIONS, "Any other questions?", True, id="end__phrase_alone_passes"),
    P(IFEVAL_END, QUESTIONS, "", False, id="end__empty_fails"),
    P(IFEVAL_END, QUESTIONS, " \n\t ", False, id="end__whitespace_fails"),
    P(IFEVAL_END, QUESTIONS, "Done. **Any other questions?**", False, id="end__bold_markdown_fails_strict"),
    P(IFEVAL_END, QUESTIONS, "Done.\n```\ncode\n```\nAny other questions?", True, id="end__after_code_fence"),
    P(IFEVAL_END, QUESTIONS, "Done. Any other questions?\n```", False, id="end__unclosed_fence_after_phrase"),
    P(IFEVAL_END, {"end_phrase": "还有其他问题吗？"}, "好的。还有其他问题吗？", True, id="end__cjk_phrase"),
    P(IFEVAL_END, {"end_phrase": "还有其他问题吗？"}, "好的。还有其他问题吗?", False,
      id="end__cjk_fullwidth_question_mark_differs_from_ascii"),
    P(IFEVAL_END, {"end_phrase": "See you 👋"}, "Bye. See you 👋", True, id="end__emoji_phrase"),
    P(IFEVAL_END, QUESTIONS, "Done. Any other questions? 👋", False, id="end__emoji_after_phrase_fails"),
    P(END, QUESTIONS, "Here you go. Any other questions?", True, id="end_native__same_as_ifeval"),
    # -- quotation: the stripped response starts and ends with " -------------------------------------------
    P(IFEVAL_QUOTE, {}, '"Hello there."', True, id="quote__wrapped_passes"),
    P(IFEVAL_QUOTE, {}, "Hello there.", False, id="quote__unwrapped_fails"),
    P(IFEVAL_QUOTE, {}, '"Hello there.', False, id="quote__only_opening_fails"),
    P(IFEVAL_QUOTE, {}, 'Hello "there"', False, id="quote__only_closing_fails"),
    P(IFEVAL_QUOTE, {}, '"', False, id="quote__lone_quote_is_too_short"),
    P(IFEVAL_QUOTE, {}, '""', True, id="quote__two_quotes_pass"),
    P(IFEVAL_QUOTE, {}, '  \n"Hello."\n  ', True, id="quote__surrounding_whitespace_stripped"),
    P(IFEVAL_QUOTE, {}, "“Hello.”", False, id="quote__curly_quotes_fail"),
    P(IFEVAL_QUOTE, {}, "'Hello.'", False, id="quote__single_quotes_fail"),
    P(IFEVAL_QUOTE, {}, '"A" and "B"', True, id="quote__two_quoted_parts_pass"),
    P(IFEVAL_QUOTE, {}, "", False, id="quote__empty_fails"),
    P(IFEVAL_QUOTE, {}, " \n\t", False, id="quote__whitespace_fails"),
    P(IFEVAL_QUOTE, {}, '"你好，世界。"', True, id="quote__cjk_inside_ascii_quotes"),
    P(IFEVAL_QUOTE, {}, "「你好」", False, id="quote__cjk_corner_brackets_fail"),
    P(IFEVAL_QUOTE, {}, '"😀"', True, id="quote__emoji_inside"),
    P(IFEVAL_QUOTE, {}, '"Hi" 😀', False, id="quote__emoji_after_closing_quote_fails"),
    P(IFEVAL_QUOTE, {}, '```\n"Hello."\n```', False, id="quote__inside_code_fence_fails"),
    P(IFEVAL_QUOTE, {}, '"# Title\n* point\n**bold**"', True, id="quote__markdown_inside_quotes"),
    P(QUOTE, {}, '"Hello there."', True, id="quote_native__same_as_ifeval"),
]

NOT_IN_REFERENCE: dict[str, str] = {}


PARAMS_ERRORS = [
    P(IFEVAL_END, {},
      "startend:end_checker: param 'end_phrase' received nothing (missing), expected a string of at least 1 "
      "character(s) of at most 65536 character(s) matching '\\\\S'", id="end__missing_phrase"),
    P(END, {"end_phrase": "\t "},
      "startend.end_phrase: param 'end_phrase' received '\\t ', expected a string of at least 1 character(s) "
      "of at most 65536 character(s) matching '\\\\S'", id="end__blank_phrase"),
    P(END, {"end_phrase": 42},
      "startend.end_phrase: param 'end_phrase' received 42, expected a string of at least 1 character(s) "
      "of at most 65536 character(s) matching '\\\\S'", id="end__number_instead_of_string"),
    P(IFEVAL_QUOTE, {"quote": '"'},
      "startend:quotation: param 'quote' received '\"', expected no such param (allowed: none)",
      id="quote__takes_no_params"),
]


def test_family__types() -> None:
    assert [cls.id for cls in family_types("startend")] == [END, QUOTE]


@pytest.mark.parametrize(("constraint_id", "params"), [P(END, QUESTIONS, id="end"), P(QUOTE, {}, id="quote")])
@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__fails_check_strict_and_loose(constraint_id: str, params: dict[str, Any],
                                                       response: str) -> None:
    constraint = build(constraint_id, params)
    assert constraint.check(response) is False
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


@pytest.mark.parametrize(("constraint_id", "params", "response", "strict", "loose"), [
    P(END, QUESTIONS, "Done. **Any other questions?**", False, True, id="end__loose_removes_bold_stars"),
    P(END, QUESTIONS, "Done. Any other questions?\n(Generated answer)", False, True,
      id="end__loose_drops_a_trailing_line"),
    P(QUOTE, {}, 'Sure:\n"Hello there."', False, True, id="quote__loose_drops_a_preamble"),
    P(QUOTE, {}, 'Sure: "Hello there."', False, False, id="quote__loose_cannot_cut_inside_a_line"),
])
def test_strict_and_loose_verdicts(constraint_id: str, params: dict[str, Any], response: str, strict: bool,
                                   loose: bool) -> None:
    constraint = build(constraint_id, params)
    assert strict_verdict(constraint, response) is strict
    assert loose_verdict(constraint, response) is loose
