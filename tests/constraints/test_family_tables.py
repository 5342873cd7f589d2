"""The shared harness over every family's tables: each ``tests/constraints/test_<family>.py`` declares
``CASES`` (constraint id, params, response, expected verdict), ``NOT_IN_REFERENCE`` and ``PARAMS_ERRORS``;
this module runs them all through one set of tests, so the contract cannot drift between families."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from _constraint_support import (
    alias_cases,
    assert_sampling_is_valid,
    build,
    family_types,
    params_error,
    reference_verdict,
)

from ifverify.constraints.base import HardConstraint

FAMILIES = ("case", "combination", "content", "format", "keywords", "language", "length", "punctuation",
            "startend")
TABLES = {family: importlib.import_module(f"test_{family}") for family in FAMILIES}


def _cases(table: str) -> list[Any]:
    return [case for family in FAMILIES for case in getattr(TABLES[family], table)]


def _alias_cases() -> list[Any]:
    return [case for family in FAMILIES
            for case in alias_cases(TABLES[family].CASES, TABLES[family].NOT_IN_REFERENCE)]


@pytest.mark.parametrize(("constraint_id", "params", "response", "expected"), _cases("CASES"))
def test_check(constraint_id: str, params: dict[str, Any], response: str, expected: bool) -> None:
    assert build(constraint_id, params).check(response) is expected


@pytest.mark.parametrize(("constraint_id", "params", "response", "expected"), _alias_cases())
def test_ifeval_alias__agrees_with_reference(constraint_id: str, params: dict[str, Any], response: str,
                                             expected: bool) -> None:
    assert reference_verdict(constraint_id, params, response) is expected


@pytest.mark.parametrize(("constraint_id", "params", "message"), _cases("PARAMS_ERRORS"))
def test_params_error__exact_message(constraint_id: str, params: dict[str, Any], message: str) -> None:
    assert params_error(constraint_id, params) == message


@pytest.mark.parametrize("cls", [cls for family in FAMILIES for cls in family_types(family)], ids=lambda c: c.id)
def test_sample_params__valid_and_deterministic(cls: type[HardConstraint]) -> None:
    assert_sampling_is_valid(cls)
