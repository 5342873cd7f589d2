"""combination family: combination.two_responses (IFEval combination:two_responses) and
combination.repeat_prompt (combination:repeat_prompt)."""

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
TWO = "combination.two_responses"
IFEVAL_TWO = "combination:two_responses"
REPEAT = "combination.repeat_prompt"
IFEVAL_REPEAT = "combination:repeat_prompt"

HAIKU = {"prompt_to_repeat": "Write a haiku about rain."}

CASES = [
    # -- two responses separated by ****** ---------------------------------------------------------------
    P(IFEVAL_TWO, {}, "Answer A.\n******\nAnswer B.", True, id="two__two_different_pass"),
    P(IFEVAL_TWO, {}, "Answer A.", False, id="two__count_boundary_n_minus_1_fails"),
    P(IFEVAL_TWO, {}, "A.\n******\nB.\n******\nC.", False, id="two__count_boundary_n_plus_1_fails"),
    P(IFEVAL_TWO, {}, "Same.\n******\nSame.", False, id="two__identical_fail"),
    P(IFEVAL_TWO, {}, "  Same.\n******\nSame.  \n", False, id="two__identical_after_strip_fail"),
    P(IFEVAL_TWO, {}, "Same.\n******\nsame.", True, id="two__case_differs_counts_as_different"),
    P(IFEVAL_TWO, {}, "******\nA.\n******\nB.\n******", True, id="two__blank_outer_parts_allowed"),
    P(IFEVAL_TWO, {}, "A.\n******\n \n******\nB.", False, id="two__blank_inner_part_fails"),
    P(IFEVAL_TWO, {}, "A.\n************\nB.", False, id="two__twelve_stars_leave_a_blank_inner_part"),
    P(IFEVAL_TWO, {}, "A.*******B.", True, id="two__seven_stars_leave_one_in_the_second_response"),
    P(IFEVAL_TWO, {}, "A.\n*****\nB.", False, id="two__five_stars_do_not_separate"),
    P(IFEVAL_TWO, {}, "A.\n***\nB.", False, id="two__markdown_divider_does_not_separate"),
    P(IFEVAL_TWO, {}, "", False, id="two__empty_fails"),
    P(IFEVAL_TWO, {}, " \n\t", False, id="two__whitespace_fails"),
    P(IFEVAL_TWO, {}, "******", False, id="two__separator_alone_fails"),
    P(IFEVAL_TWO, {}, "回答一。\n******\n回答二。", True, id="two__cjk"),
    P(IFEVAL_TWO, {}, "😀\n******\n😢", True, id="two__emoji"),
    P(IFEVAL_TWO, {}, "**Bold A**\n******\n- bullet B\n```\ncode\n```", True, id="two__markdown_noise"),
    P(TWO, {}, "Answer A.\n******\nAnswer B.", True, id="two_native__same_as_ifeval"),
    # -- repeat the prompt first: stripped, case-insensitive prefix --------------------------------------
    P(IFEVAL_REPEAT, HAIKU, "Write a haiku about rain. Drops fall on the roof...", True,
      id="repeat__prefix_passes"),
    P(IFEVAL_REPEAT, HAIKU, "write A HAIKU about RAIN. ok", True, id="repeat__case_insensitive"),
    P(IFEVAL_REPEAT, HAIKU, "\n  Write a haiku about rain.", True, id="repeat__leading_whitespace_stripped"),
    P(IFEVAL_REPEAT, HAIKU, "Sure! Write a haiku about rain.", False, id="repeat__preamble_fails"),
    P(IFEVAL_REPEAT, HAIKU, "Write a haiku about rain", False, id="repeat__missing_final_period_fails"),
    P(IFEVAL_REPEAT, HAIKU, "Write a haiku  about rain.", False, id="repeat__inner_whitespace_must_match"),
    P(IFEVAL_REPEAT, {"prompt_to_repeat": "  Write a haiku about rain.\n"}, "Write a haiku about rain. Ok.",
      True, id="repeat__prompt_stripped"),
    P(IFEVAL_REPEAT, HAIKU, "", False, id="repeat__empty_fails"),
    P(IFEVAL_REPEAT, HAIKU, "  \n\t", False, id="repeat__whitespace_fails"),
    P(IFEVAL_REPEAT, {"prompt_to_repeat": "写一首关于雨的诗。"}, "写一首关于雨的诗。雨落屋檐。", True,
      id="repeat__cjk"),
    P(IFEVAL_REPEAT, {"prompt_to_repeat": "Describe 🌧️ in one line."}, "Describe 🌧️ in one line. Wet.", True,
      id="repeat__emoji_with_variation_selector"),
    P(IFEVAL_REPEAT, {"prompt_to_repeat": "Describe 🌧️ in one line."}, "Describe 🌧 in one line. Wet.", False,
      id="repeat__emoji_without_variation_selector_differs"),
    P(IFEVAL_REPEAT, HAIKU, "**Write a haiku about rain.**\nDrops.", False,
      id="repeat__bold_markdown_fails_strict"),
    P(IFEVAL_REPEAT, HAIKU, "> Write a haiku about rain.\nDrops.", False, id="repeat__quoted_markdown_fails"),
    P(REPEAT, HAIKU, "Write a haiku about rain. Drops.", True, id="repeat_native__same_as_ifeval"),
]

NOT_IN_REFERENCE: dict[str, str] = {}


PARAMS_ERRORS = [
    P(IFEVAL_REPEAT, {},
      "combination:repeat_prompt: param 'prompt_to_repeat' received nothing (missing), expected a string "
      "of at least 1 character(s) of at most 65536 character(s) matching '\\\\S'", id="repeat__missing_prompt"),
    P(IFEVAL_REPEAT, {"prompt_to_repeat": " \n"},
      "combination:repeat_prompt: param 'prompt_to_repeat' received ' \\n', expected a string of at least 1 "
      "character(s) of at most 65536 character(s) matching '\\\\S'", id="repeat__blank_prompt"),
    P(REPEAT, {"prompt_to_repeat": ["Write."]},
      "combination.repeat_prompt: param 'prompt_to_repeat' received ['Write.'], expected a string of at "
      "least 1 character(s) of at most 65536 character(s) matching '\\\\S'", id="repeat__list_instead_of_string"),
    P(IFEVAL_TWO, {"separator": "---"},
      "combination:two_responses: param 'separator' received '---', expected no such param (allowed: none)",
      id="two__takes_no_params"),
]


def test_family__types() -> None:
    assert [cls.id for cls in family_types("combination")] == [REPEAT, TWO]


@pytest.mark.parametrize(("constraint_id", "params"), [P(TWO, {}, id="two"), P(REPEAT, HAIKU, id="repeat")])
@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__fails_check_strict_and_loose(constraint_id: str, params: dict[str, Any],
                                                       response: str) -> None:
    constraint = build(constraint_id, params)
    assert constraint.check(response) is False
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


@pytest.mark.parametrize(("constraint_id", "params", "response", "strict", "loose"), [
    P(REPEAT, HAIKU, "**Write a haiku about rain.**\nDrops.", False, True,
      id="repeat__loose_removes_bold_stars"),
    P(REPEAT, HAIKU, "Sure!\nWrite a haiku about rain.\nDrops.", False, True,
      id="repeat__loose_drops_a_preamble"),
    P(TWO, {}, "Same.\n******\nSame.", False, False, id="two__loose_cannot_make_them_differ"),
    P(TWO, {}, "Two answers:\n******\nA.\n******\nB.", False, True, id="two__loose_drops_a_preamble_part"),
])
def test_strict_and_loose_verdicts(constraint_id: str, params: dict[str, Any], response: str, strict: bool,
                                   loose: bool) -> None:
    constraint = build(constraint_id, params)
    assert strict_verdict(constraint, response) is strict
    assert loose_verdict(constraint, response) is loose
