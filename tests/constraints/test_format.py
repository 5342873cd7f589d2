"""format family: format.bullet_list, format.constrained_response, format.highlights, format.sections,
format.json and format.title (IFEval detectable_format:*)."""

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
BULLETS = "format.bullet_list"
IFEVAL_BULLETS = "detectable_format:number_bullet_lists"
CONSTRAINED = "format.constrained_response"
IFEVAL_CONSTRAINED = "detectable_format:constrained_response"
HIGHLIGHTS = "format.highlights"
IFEVAL_HIGHLIGHTS = "detectable_format:number_highlighted_sections"
SECTIONS = "format.sections"
IFEVAL_SECTIONS = "detectable_format:multiple_sections"
JSON = "format.json"
IFEVAL_JSON = "detectable_format:json_format"
TITLE = "format.title"
IFEVAL_TITLE = "detectable_format:title"

TWO_BULLETS = {"num_bullets": 2}
TWO_HIGHLIGHTS = {"num_highlights": 2}
TWO_SECTIONS = {"section_spliter": "Section", "num_sections": 2}
NAME_SCHEMA = {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}

CASES = [
    # -- bullet lists: lines starting with "* " (not "**") or "-", exactly N --------------------------------
    P(IFEVAL_BULLETS, TWO_BULLETS, "* one", False, id="bullets__exact_boundary_n_minus_1_fails"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "* one\n* two", True, id="bullets__exact_boundary_n_passes"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "* one\n* two\n* three", False,
      id="bullets__exact_boundary_n_plus_1_fails"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "Intro:\n- one\n- two\nOutro.", True, id="bullets__dash_bullets"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "* one\n- two", True, id="bullets__star_and_dash_mixed"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "  * one\n\t- two", True, id="bullets__indented"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "**Title**\n* one\n* two", True, id="bullets__bold_line_is_not_a_bullet"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "* one\n---\n* two", False, id="bullets__horizontal_rule_counts_as_dash"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "*Note*: careful\n* one", True, id="bullets__italic_line_start_counts"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "-5 degrees\n- one", True, id="bullets__negative_number_line_counts"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "1. one\n2. two", False, id="bullets__numbered_list_does_not_count"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "• one\n• two", False, id="bullets__unicode_bullet_does_not_count"),
    P(IFEVAL_BULLETS, {"num_bullets": 1}, "*\nnext line", True, id="bullets__lone_star_spans_the_newline"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "\n\n* one\n\n\n* two\n\n", True, id="bullets__blank_lines_between"),
    P(IFEVAL_BULLETS, {"num_bullets": 0}, "", True, id="bullets__zero_bullets_empty_passes"),
    P(IFEVAL_BULLETS, {"num_bullets": 1}, "", False, id="bullets__empty_fails"),
    P(IFEVAL_BULLETS, {"num_bullets": 1}, " \n\t\n ", False, id="bullets__whitespace_fails"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "* 苹果\n* 香蕉", True, id="bullets__cjk"),
    P(IFEVAL_BULLETS, TWO_BULLETS, "* 🍎\n- 🍌", True, id="bullets__emoji"),
    P(IFEVAL_BULLETS, TWO_BULLETS, " " * 3000 + "\n* one\n" + "\n" * 3000 + "- two", True,
      id="bullets__long_blank_runs"),
    P(BULLETS, TWO_BULLETS, "* one\n* two", True, id="bullets_native__same_as_ifeval"),
    # -- constrained response -------------------------------------------------------------------------------
    P(IFEVAL_CONSTRAINED, {}, "My answer is yes.", True, id="constrained__yes"),
    P(IFEVAL_CONSTRAINED, {}, "Well... My answer is maybe. Because.", True, id="constrained__inside_text"),
    P(IFEVAL_CONSTRAINED, {}, "My answer is Yes.", False, id="constrained__case_sensitive"),
    P(IFEVAL_CONSTRAINED, {}, "My answer is no", False, id="constrained__final_period_required"),
    P(IFEVAL_CONSTRAINED, {}, "My answer is: yes.", False, id="constrained__colon_breaks_it"),
    P(IFEVAL_CONSTRAINED, {}, "**My answer is no.**", True, id="constrained__bold_markdown"),
    P(IFEVAL_CONSTRAINED, {}, "", False, id="constrained__empty_fails"),
    P(IFEVAL_CONSTRAINED, {}, "\n \t", False, id="constrained__whitespace_fails"),
    P(IFEVAL_CONSTRAINED, {}, "我的回答：My answer is no.", True, id="constrained__cjk_prefix"),
    P(IFEVAL_CONSTRAINED, {}, "My answer is yes. 👍", True, id="constrained__emoji_suffix"),
    P(CONSTRAINED, {}, "My answer is maybe.", True, id="constrained_native__same_as_ifeval"),
    # -- highlights: *x* and **x** on one line, at least N ---------------------------------------------------
    P(IFEVAL_HIGHLIGHTS, TWO_HIGHLIGHTS, "one *key* point", False,
      id="highlights__at_least_boundary_n_minus_1_fails"),
    P(IFEVAL_HIGHLIGHTS, TWO_HIGHLIGHTS, "*key* and *point*", True,
      id="highlights__at_least_boundary_n_passes"),
    P(IFEVAL_HIGHLIGHTS, TWO_HIGHLIGHTS, "*a* *b* *c*", True,
      id="highlights__at_least_boundary_n_plus_1_passes"),
    P(IFEVAL_HIGHLIGHTS, TWO_HIGHLIGHTS, "only **bold**", False, id="highlights__bold_counts_once"),
    P(IFEVAL_HIGHLIGHTS, TWO_HIGHLIGHTS, "*it* and **bold**", True, id="highlights__italic_plus_bold"),
    P(IFEVAL_HIGHLIGHTS, {"num_highlights": 1}, "** ** and * *", False,
      id="highlights__blank_inside_ignored"),
    P(IFEVAL_HIGHLIGHTS, {"num_highlights": 1}, "*across\nlines*", False, id="highlights__not_across_lines"),
    P(IFEVAL_HIGHLIGHTS, {"num_highlights": 1}, "* one\n* two", False,
      id="highlights__bullets_are_not_highlights"),
    P(IFEVAL_HIGHLIGHTS, {"num_highlights": 1}, "_it_ and __bold__", False,
      id="highlights__underscores_ignored"),
    P(IFEVAL_HIGHLIGHTS, {"num_highlights": 0}, "", True, id="highlights__zero_needed_empty_passes"),
    P(IFEVAL_HIGHLIGHTS, {"num_highlights": 1}, "", False, id="highlights__empty_fails"),
    P(IFEVAL_HIGHLIGHTS, {"num_highlights": 1}, "  \n", False, id="highlights__whitespace_fails"),
    P(IFEVAL_HIGHLIGHTS, TWO_HIGHLIGHTS, "*重要* 和 *注意*", True, id="highlights__cjk"),
    P(IFEVAL_HIGHLIGHTS, TWO_HIGHLIGHTS, "*🎉* and *😀*", True, id="highlights__emoji"),
    P(HIGHLIGHTS, TWO_HIGHLIGHTS, "*key* and *point*", True, id="highlights_native__same_as_ifeval"),
    # -- sections: splitter + number, at least N, case-sensitive ---------------------------------------------
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "Section 1\nA", False, id="sections__at_least_boundary_n_minus_1_fails"),
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "Section 1\nA\nSection 2\nB", True,
      id="sections__at_least_boundary_n_passes"),
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "Section 1 a Section 2 b Section 3 c", True,
      id="sections__at_least_boundary_n_plus_1_passes"),
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "section 1\nA\nsection 2\nB", False, id="sections__case_sensitive"),
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "Section1 a Section2 b", True,
      id="sections__space_before_number_optional"),
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "Section A\nSection B", False, id="sections__number_required"),
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "## Section 1\ntext\n## Section 2\ntext", True,
      id="sections__markdown_headings"),
    P(IFEVAL_SECTIONS, TWO_SECTIONS, "**Section 1**\ntext\n**Section 2**", True, id="sections__bold_markers"),
    P(IFEVAL_SECTIONS, {"section_spliter": " SECTION ", "num_sections": 1}, "SECTION 1", True,
      id="sections__splitter_stripped"),
    P(IFEVAL_SECTIONS, {"section_spliter": "Section", "num_sections": 0}, "", True,
      id="sections__zero_needed_empty_passes"),
    P(IFEVAL_SECTIONS, {"section_spliter": "Section", "num_sections": 1}, "", False,
      id="sections__empty_fails"),
    P(IFEVAL_SECTIONS, {"section_spliter": "Section", "num_sections": 1}, "\t \n", False,
      id="sections__whitespace_fails"),
    P(IFEVAL_SECTIONS, {"section_spliter": "章节", "num_sections": 2}, "章节 1 内容 章节 2 内容", True,
      id="sections__cjk_splitter"),
    P(IFEVAL_SECTIONS, {"section_spliter": "🎉", "num_sections": 2}, "🎉1 a\n🎉 2 b", True,
      id="sections__emoji_splitter"),
    P(IFEVAL_SECTIONS, {"section_spliter": "S.", "num_sections": 2}, "SX 1 a SY 2 b", True,
      id="sections_ifeval__splitter_is_a_regex"),
    P(SECTIONS, {"section_spliter": "S.", "num_sections": 2}, "SX 1 a SY 2 b", False,
      id="sections_native__splitter_is_literal"),
    P(SECTIONS, {"section_spliter": "S.", "num_sections": 2}, "S. 1 a S.2 b", True,
      id="sections_native__literal_splitter_found"),
    P(SECTIONS, {"section_spliter": "[Part]", "num_sections": 1}, "[Part] 1 text", True,
      id="sections_native__brackets_literal"),
    # -- JSON: whole response, optionally fenced; native may take a JSON Schema ------------------------------
    P(IFEVAL_JSON, {}, '{"a": 1}', True, id="json__object"),
    P(IFEVAL_JSON, {}, '```json\n{"a": 1}\n```', True, id="json__json_fence"),
    P(IFEVAL_JSON, {}, "```JSON\n[1, 2]\n```", True, id="json__upper_case_fence"),
    P(IFEVAL_JSON, {}, "```\n{}\n```", True, id="json__bare_fence"),
    P(IFEVAL_JSON, {}, "```python\n{}\n```", False, id="json__other_language_fence_fails"),
    P(IFEVAL_JSON, {}, 'Here you go: {"a": 1}', False, id="json__prose_before_fails"),
    P(IFEVAL_JSON, {}, '```json\n{"a": 1}\n```\nHope it helps.', False, id="json__prose_after_fence_fails"),
    P(IFEVAL_JSON, {}, "{'a': 1}", False, id="json__single_quotes_fail"),
    P(IFEVAL_JSON, {}, '"just a string"', True, id="json__scalar_string_is_json"),
    P(IFEVAL_JSON, {}, "  42 \n", True, id="json__scalar_number_is_json"),
    P(IFEVAL_JSON, {}, "NaN", True, id="json__nan_is_accepted_by_python_json"),
    P(IFEVAL_JSON, {}, "", False, id="json__empty_fails"),
    P(IFEVAL_JSON, {}, " \n\t", False, id="json__whitespace_fails"),
    P(IFEVAL_JSON, {}, '{"名字": "张三"}', True, id="json__cjk"),
    P(IFEVAL_JSON, {}, '{"mood": "😀"}', True, id="json__emoji"),
    P(JSON, {}, "[" * 100_000 + "]" * 100_000, False,
      id="json_native__too_deep_to_parse_fails_without_raising"),
    P(JSON, NAME_SCHEMA, '{"name": "Ada"}', True, id="json_native__schema_satisfied"),
    P(JSON, NAME_SCHEMA, '```json\n{"name": "Ada", "age": 36}\n```', True, id="json_native__schema_fenced"),
    P(JSON, NAME_SCHEMA, '{"age": 36}', False, id="json_native__schema_required_key_missing"),
    P(JSON, NAME_SCHEMA, '{"name": 7}', False, id="json_native__schema_wrong_type"),
    P(JSON, NAME_SCHEMA, '[{"name": "Ada"}]', False, id="json_native__schema_array_is_not_object"),
    P(JSON, NAME_SCHEMA, "{name: Ada}", False, id="json_native__schema_not_json"),
    P(JSON, {"schema": {}}, "null", True, id="json_native__empty_schema_accepts_anything"),
    # -- title: <<...>> on one line, not blank inside --------------------------------------------------------
    P(IFEVAL_TITLE, {}, "<<My Title>>\nText", True, id="title__present"),
    P(IFEVAL_TITLE, {}, "My Title\nText", False, id="title__missing"),
    P(IFEVAL_TITLE, {}, "<<>>", False, id="title__empty_brackets_fail"),
    P(IFEVAL_TITLE, {}, "<<   >>", False, id="title__blank_inside_fails"),
    P(IFEVAL_TITLE, {}, "<<My\nTitle>>", False, id="title__across_lines_fails"),
    P(IFEVAL_TITLE, {}, "<<<Title>>>", True, id="title__triple_brackets"),
    P(IFEVAL_TITLE, {}, "<<>> and <<>>", True, id="title__two_empty_titles_on_one_line_pass"),
    P(IFEVAL_TITLE, {}, "«Title»", False, id="title__guillemets_do_not_count"),
    P(IFEVAL_TITLE, {}, "", False, id="title__empty_fails"),
    P(IFEVAL_TITLE, {}, " \n", False, id="title__whitespace_fails"),
    P(IFEVAL_TITLE, {}, "<<静夜思>>\n床前明月光", True, id="title__cjk"),
    P(IFEVAL_TITLE, {}, "<<🎉>>", True, id="title__emoji"),
    P(IFEVAL_TITLE, {}, "# <<Heading Title>>\n**text**", True, id="title__inside_markdown_heading"),
    P(TITLE, {}, "<<My Title>>", True, id="title_native__same_as_ifeval"),
]

NOT_IN_REFERENCE: dict[str, str] = {}


PARAMS_ERRORS = [
    P(IFEVAL_BULLETS, {"num_bullets": -2},
      "detectable_format:number_bullet_lists: param 'num_bullets' received -2, expected an integer >= 0",
      id="bullets__negative"),
    P(BULLETS, {"num_bullets": True}, "format.bullet_list: param 'num_bullets' received True, expected an "
                                      "integer >= 0", id="bullets__bool_is_not_an_integer"),
    P(IFEVAL_CONSTRAINED, {"options": ["yes"]},
      "detectable_format:constrained_response: param 'options' received ['yes'], expected no such param "
      "(allowed: none)", id="constrained__takes_no_params"),
    P(HIGHLIGHTS, {}, "format.highlights: param 'num_highlights' received nothing (missing), expected an "
                      "integer >= 0", id="highlights__missing"),
    P(IFEVAL_SECTIONS, {"section_spliter": "Section(", "num_sections": 2},
      "detectable_format:multiple_sections: param 'section_spliter' received 'Section(', expected a valid "
      "regular expression under semantics 'ifeval' (missing ), unterminated subpattern); "
      "semantics 'native' matches it literally", id="sections_ifeval__splitter_not_a_valid_regex"),
    P(IFEVAL_SECTIONS, {"section_spliter": "(?i)Section", "num_sections": 2},
      "detectable_format:multiple_sections: param 'section_spliter' received '(?i)Section', expected a valid "
      "regular expression under semantics 'ifeval' (global flags not at the start of the expression); "
      "semantics 'native' matches it literally", id="sections_ifeval__inline_flags_invalid_after_space"),
    P(IFEVAL_SECTIONS, {"num_sections": 2},
      "detectable_format:multiple_sections: param 'section_spliter' received nothing (missing), expected a "
      "string of at least 1 character(s) of at most 128 character(s) matching '\\\\S'", id="sections__missing_splitter"),
    P(SECTIONS, {"section_spliter": "Section", "num_sections": "2"},
      "format.sections: param 'num_sections' received '2', expected an integer >= 0",
      id="sections__string_count"),
    P(JSON, {"schema": []}, "format.json: param 'schema' received [], expected an object",
      id="json__schema_must_be_an_object"),
    P(JSON, {"schema": {"type": 5}},
      "format.json: param 'schema' received {'type': 5}, expected a valid JSON Schema (5 is not valid under "
      "any of the given schemas)", id="json__invalid_schema"),
    P(IFEVAL_TITLE, {"title": "x"},
      "detectable_format:title: param 'title' received 'x', expected no such param (allowed: none)",
      id="title__takes_no_params"),
]


def test_native_splitter_that_is_a_bad_regex__is_fine() -> None:
    constraint = build(SECTIONS, {"section_spliter": "Section(", "num_sections": 2})
    assert constraint.check("Section( 1 a Section( 2 b")


@pytest.mark.parametrize("ref", ["#/definitions/missing", "https://example.com/schema.json"])
def test_json_schema_with_unresolvable_ref__fails_without_raising_or_fetching(ref: str) -> None:
    constraint = build(JSON, {"schema": {"$ref": ref}})
    assert constraint.check('{"a": 1}') is False
    assert constraint.observe('{"a": 1}').startswith("the schema could not be applied: ")


def test_family__types() -> None:
    assert [cls.id for cls in family_types("format")] == [
        BULLETS, CONSTRAINED, HIGHLIGHTS, JSON, SECTIONS, TITLE]


@pytest.mark.parametrize(("constraint_id", "params"), [
    P(BULLETS, {"num_bullets": 0}, id="zero_bullets"),
    P(HIGHLIGHTS, {"num_highlights": 0}, id="zero_highlights"),
    P(SECTIONS, {"section_spliter": "Section", "num_sections": 0}, id="zero_sections"),
])
@pytest.mark.parametrize("response", BLANK_RESPONSES)
def test_blank_response__check_passes_but_strict_and_loose_fail(constraint_id: str, params: dict[str, Any],
                                                                 response: str) -> None:
    constraint = build(constraint_id, params)
    assert constraint.check(response) is True
    assert strict_verdict(constraint, response) is False
    assert loose_verdict(constraint, response) is False


@pytest.mark.parametrize(("constraint_id", "params", "response", "strict", "loose"), [
    P(JSON, {}, 'Here is the JSON:\n{"a": 1}', False, True, id="json__loose_drops_a_preamble_line"),
    P(JSON, {}, 'Here is the JSON:\n{"a": 1}\nEnjoy!', False, True, id="json__loose_drops_both_ends"),
    P(BULLETS, TWO_BULLETS, "**Fruits**\n* apple\n* pear", True, True, id="bullets__bold_heading_is_fine"),
    P(BULLETS, TWO_BULLETS, "* **apple**\n* **pear**\n- extra", False, True,
      id="bullets__loose_drops_an_extra_line"),
    P(BULLETS, TWO_BULLETS, "- a\n- b\n- c\n- d\n- e", False, False, id="bullets__loose_cannot_drop_three"),
])
def test_strict_and_loose_verdicts(constraint_id: str, params: dict[str, Any], response: str, strict: bool,
                                   loose: bool) -> None:
    constraint = build(constraint_id, params)
    assert strict_verdict(constraint, response) is strict
    assert loose_verdict(constraint, response) is loose
