"""The 25 soft types (CFBench's categories): registration, declarations, text sampling, building, CLI."""

from __future__ import annotations

import pickle
import random
import re
import string
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ifverify.cli import cli
from ifverify.constraints.base import ParamsError, SoftConstraint
from ifverify.constraints.registry import builtin_registry, builtin_types, default_registry
from ifverify.constraints.soft import GROUPS, soft_types

#: CFBench group -> the soft ids of its categories, in CFBench's order.
SOFT_IDS = {
    "content": ("soft.lexical_content", "soft.element", "soft.semantic"),
    "numerical": ("soft.word_count", "soft.sentence_count", "soft.paragraph_count", "soft.document_count"),
    "style": ("soft.tone", "soft.form_style", "soft.audience", "soft.authorial_style"),
    "format": ("soft.fundamental_format", "soft.bespoke_format", "soft.specialized_format"),
    "linguistic": ("soft.pragmatic", "soft.syntactic", "soft.morphological", "soft.phonological"),
    "situation": ("soft.role", "soft.task", "soft.complex_context"),
    "other": ("soft.example", "soft.inverse", "soft.contradictory", "soft.rule"),
}
ALL_SOFT_IDS = [i for ids in SOFT_IDS.values() for i in ids]
SOFT = default_registry().ids("soft")
DRAWS = 2000
MIN_DISTINCT = 200
UNFILLED = re.compile(r"\{[^{}]*\}")


def soft_type(constraint_id: str) -> type[SoftConstraint]:
    cls = default_registry().get(constraint_id)
    assert issubclass(cls, SoftConstraint), constraint_id
    return cls


def draw(constraint_id: str, seed: int, n: int = DRAWS) -> list[str]:
    cls = soft_type(constraint_id)
    rng = random.Random(seed)
    return [cls.sample_text(rng) for _ in range(n)]


def slot_names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# -- registration --------------------------------------------------------------------------------------
def test_builtins__48_types_23_hard_then_25_soft() -> None:
    types = list(builtin_types())
    kinds = [cls.kind for cls in types]
    assert len(types) == 48
    assert kinds == ["hard"] * 23 + ["soft"] * 25
    registry = builtin_registry()  # built-ins only: installed plugins add their own types
    assert len(registry.ids("hard")) == 23 and len(registry.ids("soft")) == 25


def test_soft_ids__every_cfbench_category_is_registered_as_soft_in_its_group() -> None:
    registry = default_registry()
    assert sorted(SOFT) == sorted(ALL_SOFT_IDS)
    for group, ids in SOFT_IDS.items():
        for constraint_id in ids:
            cls = registry.get(constraint_id)
            assert (cls.kind, cls.family, registry.origin[constraint_id]) == ("soft", group, "")


def test_soft_types__stable_order_group_by_group() -> None:
    assert GROUPS == tuple(SOFT_IDS)
    assert [cls.id for cls in soft_types()] == ALL_SOFT_IDS
    assert soft_types() == soft_types()
    assert all(issubclass(cls, SoftConstraint) for cls in soft_types())


def test_soft_package__import_loads_no_group_module_and_nothing_heavy() -> None:
    code = ("import sys\nimport ifverify.constraints.soft\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('ifverify.constraints.soft.')"
            " or m in ('torch', 'transformers'))\n"
            "assert not loaded, loaded\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# -- declarations --------------------------------------------------------------------------------------
@pytest.mark.parametrize("constraint_id", SOFT)
def test_declaration__description_templates_and_slots_agree(constraint_id: str) -> None:
    cls = soft_type(constraint_id)
    assert cls.description.strip() and cls.__doc__
    assert 4 <= len(cls.templates) <= 8
    used = set().union(*(slot_names(t) for t in cls.templates))
    assert used == set(cls.slots), "every template slot is declared and every declared slot is used"
    for name, values in cls.slots.items():
        assert isinstance(values, tuple) and values, name
        assert len(set(values)) == len(values), f"duplicate values in slot {name!r}"
        assert all(isinstance(v, str) and "{" not in v and "}" not in v for v in values), name


# -- sampling ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("constraint_id", SOFT)
def test_sample_text__at_least_200_distinct_texts_in_2000_draws(constraint_id: str) -> None:
    assert len(set(draw(constraint_id, seed=0))) >= MIN_DISTINCT


@pytest.mark.parametrize("constraint_id", SOFT)
def test_sample_text__same_seed_same_texts_other_seed_other_texts(constraint_id: str) -> None:
    assert draw(constraint_id, seed=7, n=200) == draw(constraint_id, seed=7, n=200)
    assert draw(constraint_id, seed=7, n=200) != draw(constraint_id, seed=8, n=200)


@pytest.mark.parametrize("constraint_id", SOFT)
def test_sample_text__filled_nonempty_capitalised_and_punctuated(constraint_id: str) -> None:
    for text in set(draw(constraint_id, seed=1)):
        assert not UNFILLED.search(text), text
        assert text.strip() == text and text, text
        assert text[0].isupper(), text
        assert text[-1] in ".!?", text
        assert "  " not in text, text


@pytest.mark.parametrize("constraint_id", SOFT)
def test_sample_text__leaves_global_random_state_untouched(constraint_id: str) -> None:
    before = random.getstate()
    cls = soft_type(constraint_id)
    cls.sample_text(random.Random(3))
    cls.sample_spec(random.Random(3))
    assert random.getstate() == before


@pytest.mark.parametrize("constraint_id", SOFT)
def test_sample_spec__builds_an_instance_carrying_the_sampled_text(constraint_id: str) -> None:
    registry = default_registry()
    cls = soft_type(constraint_id)
    spec = cls.sample_spec(random.Random(11))
    assert spec == {"id": constraint_id, "text": cls.sample_text(random.Random(11))}
    constraint = registry.build_spec(spec)
    assert type(constraint) is cls and constraint.kind == "soft"
    assert constraint.text == spec["text"] and constraint.instruction() == spec["text"]
    assert constraint.to_spec() == spec


@pytest.mark.parametrize("constraint_id", SOFT)
def test_instance__pickles_to_an_equal_instance(constraint_id: str) -> None:
    constraint = default_registry().build_spec(default_registry().get(constraint_id).sample_spec(random.Random(5)))
    clone = pickle.loads(pickle.dumps(constraint))
    assert clone == constraint and clone.text == constraint.text and hash(clone) == hash(constraint)


# -- building errors -----------------------------------------------------------------------------------
def test_build__soft_without_text_names_the_missing_text() -> None:
    with pytest.raises(ParamsError) as info:
        default_registry().build_spec({"id": "soft.tone"})
    assert str(info.value) == ("soft.tone: param 'text' received nothing (missing), "
                               "expected a non-empty constraint text")


@pytest.mark.parametrize("blank", ["", "   ", "\n\t "], ids=["empty", "spaces", "whitespace_mix"])
def test_build__soft_with_blank_text_names_the_text_received(blank: str) -> None:
    with pytest.raises(ParamsError) as info:
        default_registry().build("soft.word_count", text=blank)
    assert str(info.value) == (f"soft.word_count: param 'text' received {blank!r}, "
                               "expected a non-empty constraint text")


# -- CLI -----------------------------------------------------------------------------------------------
def test_cli_list__kind_soft_prints_one_line_per_soft_type() -> None:
    result = CliRunner().invoke(cli, ["list", "--kind", "soft"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 25
    assert [line.split()[:2] for line in lines] == [[i, "soft"] for i in sorted(ALL_SOFT_IDS)]


def test_cli_describe__soft_tone_shows_its_description() -> None:
    result = CliRunner().invoke(cli, ["describe", "soft.tone"])
    assert result.exit_code == 0
    assert result.stdout.startswith("soft.tone  (soft, family style, built-in)")
    assert default_registry().get("soft.tone").description in result.stdout
