"""punctuation family: punctuation.no_comma (IFEval punctuation:no_comma): no ASCII comma anywhere."""

from __future__ import annotations

import pytest
from _constraint_support import (
    BLANK_RESPONSES,
    build,
    family_types,
)

from ifverify.rewards.scoring import loose_verdict, strict_verdict

P = pytest.param
NO_COMMA = "punctuation.no_comma"
IFEVAL = "punctuation:no_comma"

CASES = [
    P(IFEVAL, {}, "No commas here at all.", True, id="no_comma__clean_text_passes"),
    P(IFEVAL, {}, "Yes, one comma.", False, id="no_comma__one_comma_fails"),
    P(IFEVAL, {}, "1,000 people", False, id="no_comma__thousands_separator_fails"),
    P(IFEVAL, {}, "a;b:c.d!e?f-g", True, id="no_comma__other_ascii_punctuation_allowed"),
    P(IFEVAL, {}, ",", False, id="no_comma__lone_comma_fails"),
    P(IFEVAL, {}, "", True, id="no_comma__empty_passes_at_check_level"),
    P(IFEVAL, {}, " \n\t ", True, id="no_comma__whitespace_passes_at_check_level"),
    P(IFEVAL, {}, "你好，世界", True, id="no_comma__fullwidth_comma_allowed"),
    P(IFEVAL, {}, "苹果、香蕉", True, id="no_comma__ideographic_comma_allowed"),
    P(IFEVAL, {}, "مرحبا، عالم", True, id="no_comma__arabic_comma_allowed"),
    P(IFEVAL, {}, "wait‚ what", True, id="no_comma__low_single_quote_lookalike_allowed"),
    P(IFEVAL, {}, "你好,世界", False, id="no_comma__ascii_comma_in_cjk_fails"),
    P(IFEVAL, {}, "😀 🎉 👍", True, id="no_comma__emoji_only_passes"),
    P(IFEVAL, {}, "😀,🎉", False, id="no_comma__comma_between_emoji_fails"),
    P(IFEVAL, {}, "# Title\n* **bold** item\n```\nx = 1\n```", True, id="no_comma__markdown_without_comma"),
    P(IFEVAL, {}, "# Title\n```python\nf(a, b)\n```", False, id="no_comma__comma_inside_code_fence_fails"),
    P(IFEVAL, {}, "[link](https://x.org/?a=1,2)", False, id="no_comma__comma_inside_url_fails"),
    P(NO_COMMA, {}, "No commas here at all.", True, id="no_comma_native__same_as_ifeval"),
    P(NO_COMMA, {}, "Yes, one comma.", False, id="no_comma_native__comma_fails"),
]

NOT_IN_REFERENCE: dict[str, str] = {}


PARAMS_ERRORS = [
    P(IFEVAL, {"allow_fullwidth": True},
      "punctuation:no_comma: param 'allow_fullwidth' received True, expected no such param (allowed: none)",
      id="no_comma_alias__takes_no_params"),
    P(NO_COMMA, {"comma": ","},
      "punctuation.no_comma: param 'comma' received ',', expected no such param (allowed: none)",
      id="no_comma__takes_no_params"),
]


def test_none_and_empty_params__are_the_same_instance() -> None:
    assert build(NO_COMMA, None) == build(NO_COMMA, {}) == build(IFEVAL, {})


def test_family__types() -> None:
    assert [cls.id for cls in family_types("punctuation")] == [NO_COMMA]


@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__check_passes_but_strict_and_loose_fail(response: str) -> None:
    constraint = build(IFEVAL, {})
    assert constraint.check(response) is True
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


@pytest.mark.parametrize(("response", "strict", "loose"), [
    P("Sure, here it is:\nNo commas here.", False, True, id="loose_drops_a_preamble_with_a_comma"),
    P("Intro:\nOne, two.\nOutro.", False, False, id="loose_cannot_cut_a_middle_line"),
    P("Hi.\n", True, True, id="trailing_newline_is_fine"),
])
def test_strict_and_loose_verdicts(response: str, strict: bool, loose: bool) -> None:
    constraint = build(NO_COMMA, {})
    assert strict_verdict(constraint, response) is strict
    assert loose_verdict(constraint, response) is loose
