"""content family: content.placeholders (IFEval detectable_content:number_placeholders) and
content.postscript (detectable_content:postscript)."""

from __future__ import annotations

import pytest
from _constraint_support import (
    BLANK_RESPONSES,
    build,
    family_types,
)

from ifverify.rewards.scoring import loose_verdict, strict_verdict

P = pytest.param
PLACEHOLDERS = "content.placeholders"
IFEVAL_PLACEHOLDERS = "detectable_content:number_placeholders"
POSTSCRIPT = "content.postscript"
IFEVAL_POSTSCRIPT = "detectable_content:postscript"

TWO = {"num_placeholders": 2}
PS = {"postscript_marker": "P.S."}
PPS = {"postscript_marker": "P.P.S"}
NB = {"postscript_marker": "N.B."}

CASES = [
    # -- placeholders: the shortest [...] on one line, at least N -----------------------------------------
    P(IFEVAL_PLACEHOLDERS, TWO, "Dear [name],", False, id="placeholders__at_least_boundary_n_minus_1_fails"),
    P(IFEVAL_PLACEHOLDERS, TWO, "Dear [name], at [address].", True,
      id="placeholders__at_least_boundary_n_passes"),
    P(IFEVAL_PLACEHOLDERS, TWO, "[a] [b] [c]", True, id="placeholders__at_least_boundary_n_plus_1_passes"),
    P(IFEVAL_PLACEHOLDERS, TWO, "[a [b] c]", False, id="placeholders__nested_brackets_count_once"),
    P(IFEVAL_PLACEHOLDERS, TWO, "[]  []", True, id="placeholders__empty_brackets_count"),
    P(IFEVAL_PLACEHOLDERS, {"num_placeholders": 1}, "[name\n]", False,
      id="placeholders__bracket_across_lines_not_counted"),
    P(IFEVAL_PLACEHOLDERS, TWO, "See [the docs](https://x.org) and [FAQ](https://y.org).", True,
      id="placeholders__markdown_links_count"),
    P(IFEVAL_PLACEHOLDERS, TWO, "- [ ] todo\n- [x] done", True, id="placeholders__markdown_checkboxes_count"),
    P(IFEVAL_PLACEHOLDERS, {"num_placeholders": 1}, "Dear (name) {address}", False,
      id="placeholders__other_brackets_not_counted"),
    P(IFEVAL_PLACEHOLDERS, {"num_placeholders": 0}, "", True, id="placeholders__zero_needed_empty_passes"),
    P(IFEVAL_PLACEHOLDERS, {"num_placeholders": 1}, "", False, id="placeholders__empty_fails"),
    P(IFEVAL_PLACEHOLDERS, {"num_placeholders": 1}, " \n\t", False, id="placeholders__whitespace_fails"),
    P(IFEVAL_PLACEHOLDERS, TWO, "亲爱的[名字]，地址：[地址]", True,
      id="placeholders__cjk_inside_ascii_brackets"),
    P(IFEVAL_PLACEHOLDERS, {"num_placeholders": 1}, "亲爱的【名字】", False,
      id="placeholders__cjk_lenticular_brackets_not_counted"),
    P(IFEVAL_PLACEHOLDERS, TWO, "[😀] and [🎉]", True, id="placeholders__emoji_inside"),
    P(IFEVAL_PLACEHOLDERS, TWO, "[" * 3000 + "\n[a]" + " [" * 2000 + "b]", True,
      id="placeholders__long_unmatched_bracket_runs"),
    P(PLACEHOLDERS, TWO, "Dear [name], at [address].", True, id="placeholders_native__same_as_ifeval"),
    # -- postscript: P.S. and P.P.S are special, other markers literal (native) or regex (IFEval) ----------
    P(IFEVAL_POSTSCRIPT, PS, "Hello.\nP.S. See you.", True, id="postscript__ps_on_its_own_line"),
    P(IFEVAL_POSTSCRIPT, PS, "Hello.", False, id="postscript__missing_fails"),
    P(IFEVAL_POSTSCRIPT, PS, "Hello.\np. s. see you", True, id="postscript__ps_lower_case_with_spaces"),
    P(IFEVAL_POSTSCRIPT, PS, "Hello.\nP.S see you", False, id="postscript__ps_needs_its_final_period"),
    P(IFEVAL_POSTSCRIPT, PS, "Hello.\nPS: see you", False, id="postscript__ps_needs_periods"),
    P(IFEVAL_POSTSCRIPT, PS, "Read the P.S. below", True, id="postscript__marker_mid_line_counts"),
    P(IFEVAL_POSTSCRIPT, PS, "Please help. S. Smith", True, id="postscript__help_s_dot_looks_like_ps"),
    P(IFEVAL_POSTSCRIPT, PPS, "Hi.\nP.S. one\nP.P.S two", True, id="postscript__pps"),
    P(IFEVAL_POSTSCRIPT, PPS, "Hi.\np. p. s", True, id="postscript__pps_spaced_lower_case"),
    P(IFEVAL_POSTSCRIPT, PPS, "Hi.\nP.S. only one", False, id="postscript__ps_is_not_pps"),
    P(IFEVAL_POSTSCRIPT, PS, "", False, id="postscript__empty_fails"),
    P(IFEVAL_POSTSCRIPT, PS, "\n \t\n", False, id="postscript__whitespace_fails"),
    P(IFEVAL_POSTSCRIPT, PS, "Bye." + " \n" * 3000 + "P.S. later", True,
      id="postscript__after_long_blank_run"),
    P(IFEVAL_POSTSCRIPT, PS, "Bye." + " \n" * 3000, False, id="postscript__long_blank_run_without_marker"),
    P(IFEVAL_POSTSCRIPT, PS, "Bye 👋\nP.S. 😀", True, id="postscript__emoji"),
    P(IFEVAL_POSTSCRIPT, PS, "正文。\nP.S. 谢谢", True, id="postscript__cjk_body"),
    P(IFEVAL_POSTSCRIPT, PS, "Text.\n\n**P.S.** more", True, id="postscript__bold_marker"),
    P(IFEVAL_POSTSCRIPT, PS, "Text.\n> P.S. quoted", True, id="postscript__blockquote_marker"),
    P(IFEVAL_POSTSCRIPT, NB, "NXBY here", True, id="postscript_ifeval__other_marker_is_a_regex"),
    P(IFEVAL_POSTSCRIPT, NB, "Text.\nN.B. note", True, id="postscript_ifeval__other_marker_found"),
    P(IFEVAL_POSTSCRIPT, {"postscript_marker": " p.s. "}, "Text.\nPXSX note", True,
      id="postscript_ifeval__marker_stripped_and_not_special_when_lower_case"),
    P(POSTSCRIPT, NB, "NXBY here", False, id="postscript_native__other_marker_is_literal"),
    P(POSTSCRIPT, NB, "Text.\nn.b. note", True, id="postscript_native__other_marker_case_insensitive"),
    P(POSTSCRIPT, {"postscript_marker": "附言"}, "正文。\n附言：谢谢", True,
      id="postscript_native__cjk_marker"),
    P(POSTSCRIPT, {"postscript_marker": "(PS)"}, "Text.\n(ps) bye", True,
      id="postscript_native__parentheses_literal"),
    P(POSTSCRIPT, PS, "Hello.\np. s. see you", True, id="postscript_native__ps_special_as_ifeval"),
]

NOT_IN_REFERENCE: dict[str, str] = {}


PARAMS_ERRORS = [
    P(IFEVAL_PLACEHOLDERS, {"num_placeholders": -1},
      "detectable_content:number_placeholders: param 'num_placeholders' received -1, "
      "expected an integer >= 0",
      id="placeholders__negative"),
    P(PLACEHOLDERS, {},
      "content.placeholders: param 'num_placeholders' received nothing (missing), expected an integer >= 0",
      id="placeholders__missing"),
    P(PLACEHOLDERS, {"num_placeholders": [2]},
      "content.placeholders: param 'num_placeholders' received [2], expected an integer >= 0",
      id="placeholders__list_instead_of_integer"),
    P(IFEVAL_POSTSCRIPT, {"postscript_marker": "(ps"},
      "detectable_content:postscript: param 'postscript_marker' received '(ps', expected a valid regular "
      "expression under semantics 'ifeval' (missing ), unterminated subpattern); semantics "
      "'native' matches it literally", id="postscript_ifeval__marker_not_a_valid_regex"),
    P(IFEVAL_POSTSCRIPT, {"postscript_marker": " (PS "},
      "detectable_content:postscript: param 'postscript_marker' received ' (PS ', expected a valid regular "
      "expression under semantics 'ifeval' (missing ), unterminated subpattern); semantics 'native' matches "
      "it literally", id="postscript_ifeval__message_shows_the_marker_as_given"),
    P(IFEVAL_POSTSCRIPT, {"postscript_marker": "(?i)ps"},
      "detectable_content:postscript: param 'postscript_marker' received '(?i)ps', expected a valid regular "
      "expression under semantics 'ifeval' (global flags not at the start of the expression); semantics "
      "'native' matches it literally", id="postscript_ifeval__inline_flags_invalid_after_leading_space_run"),
    P(POSTSCRIPT, {"postscript_marker": ""},
      "content.postscript: param 'postscript_marker' received '', expected a string of at least 1 "
      "character(s) of at most 128 character(s) matching '\\\\S'", id="postscript__empty_marker"),
    P(POSTSCRIPT, {"postscript_marker": "P.S.", "semantics": "loose"},
      "content.postscript: param 'semantics' received 'loose', expected one of 'native', 'ifeval'",
      id="postscript__bad_semantics"),
]


def test_native_marker_that_is_a_bad_regex__is_fine() -> None:
    assert build(POSTSCRIPT, {"postscript_marker": "(ps"}).check("Text.\n(PS bye")


def test_family__types() -> None:
    assert [cls.id for cls in family_types("content")] == [PLACEHOLDERS, POSTSCRIPT]


@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__check_passes_but_strict_and_loose_fail(response: str) -> None:
    constraint = build(IFEVAL_PLACEHOLDERS, {"num_placeholders": 0})
    assert constraint.check(response) is True
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__postscript_fails_everywhere(response: str) -> None:
    constraint = build(IFEVAL_POSTSCRIPT, PS)
    assert constraint.check(response) is False
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False
