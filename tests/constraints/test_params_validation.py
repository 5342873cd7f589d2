"""Params validation decided property by property (with memoised verdicts) equals jsonschema on the whole."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifverify.constraints import base
from ifverify.constraints.base import Constraint, ParamsError
from ifverify.constraints.registry import default_registry

TYPES = [cls for cls in default_registry() if cls.kind == "hard"]

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 600), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 1.0, True, False, 3.0, 2.5, -1, "", " ", "x", "less than", "at least", "native",
                     "ifeval", "en", "fr", "P.S.", "upper", "lower", "\n", "***"]),
    st.text(max_size=8),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), SCALARS, max_size=2))


def full_verdict(cls: type[Constraint], params: dict[str, Any]) -> bool:
    schema = cls.params_schema
    return bool(jsonschema.validators.validator_for(schema)(schema).is_valid(params))


def test_every_built_in_hard_type_is_split() -> None:
    """The fast path covers the built-in types (a schema it cannot split still validates, as a whole)."""
    assert all(base._split(cls) is not None for cls in TYPES)


@pytest.mark.parametrize("cls", TYPES, ids=lambda c: c.id)
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), edits=st.lists(st.tuples(st.integers(0, 9), st.text(max_size=4), VALUES),
                                                     max_size=3))
def test_split_verdict_equals_jsonschema(cls: type[Constraint], seed: int, edits: list[Any]) -> None:
    params = dict(cls.sample_params(random.Random(seed)))
    names = sorted(cls.params_schema.get("properties", {}))
    for pick, extra_name, value in edits:
        if pick < 6 and names:
            params[names[pick % len(names)]] = value  # a declared param, any value
        elif pick < 8 and params:
            params.pop(sorted(params)[pick % len(params)])  # a param dropped
        else:
            params[extra_name or "zz"] = value  # maybe an undeclared param
    for _ in range(2):  # the second round answers from the memo
        assert base._split_valid(cls, params) == full_verdict(cls, params), params


def test_memoised_verdicts_keep_one_and_true_apart() -> None:
    cls = default_registry().get("length.words")
    good = {"relation": "at least", "num_words": 1}
    assert base._split_valid(cls, good)
    assert not base._split_valid(cls, {**good, "num_words": True})  # True == 1, but not an integer
    with pytest.raises(ParamsError, match="num_words"):
        default_registry().build("length.words", {**good, "num_words": True})


def test_schema_that_cannot_be_split_is_validated_whole() -> None:
    class Odd(base.HardConstraint):
        id = "test.odd"
        family = "test"
        params_schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "minProperties": 1}

        def check(self, text: str) -> bool:
            return True

    assert base._split(Odd) is None
    assert not base._split_valid(Odd, {"a": 1})  # "not shown valid": the caller asks jsonschema
    assert base.validate_params(Odd, {"a": 1}, None) == {"a": 1}
    with pytest.raises(ParamsError):
        base.validate_params(Odd, {}, None)
