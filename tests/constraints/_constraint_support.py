"""Helpers shared by the per-family constraint tables (``test_<family>.py``).

* :func:`build` makes instances through the default registry only, as users do;
* :func:`reference_verdict` runs Google's IFEval checker (lm-eval's port, loaded offline by
  ``benchmarks/reference_ifeval.py``) as a differential oracle for the IFEval aliases; tests that need it
  are skipped when lm-eval is not installed;
* :func:`alias_cases` picks the table rows the oracle can judge;
* :func:`assert_sampling_is_valid` checks ``sample_params`` for one type.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import random
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from ifverify.constraints.base import HardConstraint, ParamsError
from ifverify.constraints.registry import default_registry

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "benchmarks" / "reference_ifeval.py"
HARNESS_MODULE = "reference_ifeval"
SAMPLING_SEEDS = range(25)

#: Responses that are blank to ``str.strip`` (IFEval's notion of an empty response).
BLANK_RESPONSES = [
    pytest.param("", id="empty"),
    pytest.param(" ", id="one_space"),
    pytest.param("\n\t  \r\n\u3000", id="mixed_whitespace_with_ideographic_space"),
]


def build(constraint_id: str, params: Mapping[str, Any] | None = None) -> HardConstraint:
    """A hard constraint built through the registry, by native id or IFEval alias."""
    constraint = default_registry().build(constraint_id, params)
    assert isinstance(constraint, HardConstraint)
    return constraint


def params_error(constraint_id: str, params: Mapping[str, Any] | None) -> str:
    """The message of the :class:`ParamsError` that building must raise."""
    with pytest.raises(ParamsError) as info:
        default_registry().build(constraint_id, params)
    return str(info.value)


def family_types(family: str) -> list[type[HardConstraint]]:
    """The registered hard types of one family (built-ins only), sorted by id."""
    registry = default_registry()
    return [cls for cls in registry
            if cls.kind == "hard" and cls.family == family and not registry.origin.get(cls.id)]


def is_alias(constraint_id: str) -> bool:
    """IFEval ids look like ``group:name``; native ids like ``family.name``."""
    return ":" in constraint_id


# -- the IFEval reference oracle ------------------------------------------------------------------------
def _harness() -> ModuleType:
    module = sys.modules.get(HARNESS_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(HARNESS_MODULE, HARNESS)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[HARNESS_MODULE] = module
        spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=1)
def _instruction_dict() -> Mapping[str, Any] | str:
    """The reference ``INSTRUCTION_DICT``, or why it cannot be loaded."""
    if importlib.util.find_spec("lm_eval") is None:
        return "lm-eval is not installed (pip install --no-deps lm-eval==0.4.13 immutabledict)"
    harness = _harness()
    try:
        reference = harness.load_reference()
    except harness.ReferenceUnavailable as exc:
        return str(exc)
    # The reference logs an error for every text langdetect cannot read; that is expected noise here.
    logging.getLogger(reference.instructions.__name__).setLevel(logging.CRITICAL)
    return reference.INSTRUCTION_DICT  # type: ignore[no-any-return]


def reference_verdict(alias: str, params: Mapping[str, Any], text: str) -> bool:
    """The reference checker's verdict for IFEval id ``alias`` with IFEval kwargs ``params``."""
    instructions = _instruction_dict()
    if isinstance(instructions, str):
        pytest.skip(instructions)
    checker = instructions[alias](alias)
    checker.build_description(**params)
    return bool(checker.check_following(text))


def alias_cases(cases: Iterable[ParameterSet], not_in_reference: Mapping[str, str]) -> list[ParameterSet]:
    """The rows of a family table written with an IFEval alias, minus the ones whose reference verdict
    is not comparable (``not_in_reference``: row id -> why)."""
    rows = [case for case in cases if is_alias(case.values[0]) and case.id not in not_in_reference]
    unknown = set(not_in_reference) - {case.id for case in cases}
    assert not unknown, f"not_in_reference names rows that do not exist: {sorted(unknown)}"
    return rows


# -- sampling -------------------------------------------------------------------------------------------
def assert_sampling_is_valid(cls: type[HardConstraint]) -> None:
    """``sample_params`` builds a valid instance through the registry for many seeds, gives the same
    params for the same seed, returns JSON-able params, and leaves the global ``random`` state alone."""
    state = random.getstate()
    for seed in SAMPLING_SEEDS:
        params = cls.sample_params(random.Random(seed))
        assert params == cls.sample_params(random.Random(seed)), f"{cls.id}: seed {seed} is not reproducible"
        assert json.loads(json.dumps(params)) == params
        constraint = build(cls.id, params)
        assert type(constraint) is cls
        assert constraint.instruction().strip()
    assert random.getstate() == state, f"{cls.id}.sample_params touched the global random state"
