"""The registry: ids, aliases, suggestions, params validation messages, pickling, determinism."""

from __future__ import annotations

import pickle
import random

import pytest

from ifverify.constraints.base import Alias, HardConstraint, ParamsError, UnknownConstraintError
from ifverify.constraints.registry import RegistrationError, Registry, builtin_registry, default_registry

#: Tests about the built-ins use a registry of the built-ins only, so they hold with plugins installed.
BUILTINS = builtin_registry()

IFEVAL_IDS = {
    "keywords:existence", "keywords:forbidden_words", "keywords:frequency", "keywords:letter_frequency",
    "language:response_language", "length_constraints:number_sentences", "length_constraints:number_paragraphs",
    "length_constraints:number_words", "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders", "detectable_content:postscript",
    "detectable_format:number_bullet_lists", "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections", "detectable_format:multiple_sections",
    "detectable_format:json_format", "detectable_format:title", "combination:two_responses",
    "combination:repeat_prompt", "startend:end_checker", "change_case:capital_word_frequency",
    "change_case:english_capital", "change_case:english_lowercase", "punctuation:no_comma", "startend:quotation",
}


def test_registry__23_hard_types_accept_all_25_ifeval_ids() -> None:
    reg = BUILTINS
    hard = reg.ids("hard")
    assert len(hard) == 23
    aliases = {a.name for cls in reg if cls.kind == "hard" for a in cls.aliases}
    assert IFEVAL_IDS <= aliases
    assert all("." in i for i in hard)


def test_unknown_id__suggests_close_matches() -> None:
    with pytest.raises(UnknownConstraintError) as info:
        BUILTINS.build("keywords:existance", {"keywords": ["a"]})
    assert str(info.value) == ("unknown constraint id 'keywords:existance'. Did you mean "
                               "'keywords:existence', 'keywords.presence', 'keywords:frequency'?")


def test_unknown_id__without_close_match_has_no_hint() -> None:
    with pytest.raises(UnknownConstraintError, match=r"^unknown constraint id 'zzz'\.$"):
        BUILTINS.get("zzz")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        pytest.param("length.words", {"relation": "at least", "num_words": "ten"},
                     "length.words: param 'num_words' received 'ten', expected an integer >= 0", id="wrong_type"),
        pytest.param("length.words", {"relation": "at least"},
                     "length.words: param 'num_words' received nothing (missing), expected an integer >= 0",
                     id="missing"),
        pytest.param("length.words", {"relation": "more than", "num_words": 3},
                     "length.words: param 'relation' received 'more than', expected one of 'less than', "
                     "'at least'", id="bad_enum"),
        pytest.param("length.words", {"relation": "at least", "num_words": 3, "words": 4},
                     "length.words: param 'words' received 4, expected no such param (allowed: num_words, "
                     "relation)", id="unknown_param"),
        pytest.param("keywords:letter_frequency", {"letter": "a", "let_frequency": 3},
                     "keywords:letter_frequency: param 'let_relation' received nothing (missing), expected "
                     "one of 'less than', 'at least'", id="alias_reports_alias_param_names"),
        pytest.param("keywords:forbidden_words", {"forbidden_words": []},
                     "keywords:forbidden_words: param 'forbidden_words' received [], expected an array with at "
                     "least 1 item(s)", id="alias_renamed_param"),
    ],
)
def test_bad_params__name_constraint_param_value_and_expectation(name: str, params: dict, message: str) -> None:
    with pytest.raises(ParamsError) as info:
        BUILTINS.build(name, params)
    assert str(info.value) == message


def test_alias__pinned_and_renamed_params_are_not_silently_overridden() -> None:
    reg = BUILTINS
    with pytest.raises(ParamsError) as info:
        reg.build("keywords:forbidden_words", {"forbidden_words": ["a"], "mode": "include"})
    assert str(info.value) == ("keywords:forbidden_words: param 'mode' received 'include', expected nothing: "
                               "the alias fixes it to 'exclude'")
    with pytest.raises(ParamsError) as info:
        reg.build("keywords:forbidden_words", {"forbidden_words": ["a"], "keywords": ["b"]})
    assert str(info.value) == ("keywords:forbidden_words: param 'keywords' received ['b'], expected no such "
                               "param (this alias calls it 'forbidden_words')")
    assert reg.build("keywords:forbidden_words", {"forbidden_words": ["a"], "mode": "exclude"}).params["mode"] == (
        "exclude")


def test_missing_param__is_never_filled_randomly() -> None:
    for _ in range(3):
        with pytest.raises(ParamsError):
            BUILTINS.build("detectable_format:number_highlighted_sections", {})


def test_ifeval_quirks__none_values_dropped_and_whole_floats_accepted() -> None:
    reg = BUILTINS
    c = reg.build("length_constraints:number_words", {"relation": "at least", "num_words": 2.0, "extra": None})
    assert c.params == {"relation": "at least", "num_words": 2}
    with pytest.raises(ParamsError, match="received 2.5"):
        reg.build("length_constraints:number_words", {"relation": "at least", "num_words": 2.5})


def test_build_spec__native_form_and_errors() -> None:
    reg = BUILTINS
    c = reg.build_spec({"id": "punctuation.no_comma"})
    assert c.check("no commas here") and not c.check("a, b")
    with pytest.raises(ParamsError, match=r"param 'id' received nothing"):
        reg.build_spec({"params": {}})


def test_instances__pickle_and_compare_equal() -> None:
    reg = BUILTINS
    for cls in reg:
        if cls.kind != "hard":
            continue
        c = reg.build(cls.id, cls.sample_params(random.Random(7)))
        clone = pickle.loads(pickle.dumps(c))
        assert clone == c and hash(clone) == hash(c)
        assert clone.check("Some text, with words.") == c.check("Some text, with words.")


def test_sample_params__deterministic_for_a_seed_and_never_global_random() -> None:
    state = random.getstate()
    reg = BUILTINS
    for cls in reg:
        if cls.kind != "hard":
            continue
        a, b = cls.sample_params(random.Random(3)), cls.sample_params(random.Random(3))
        assert a == b
        assert reg.build(cls.id, a).instruction()
    assert random.getstate() == state


class _Shout(HardConstraint):
    id = "test.shout"
    family = "test"
    aliases = (Alias("test:shout"),)

    def check(self, text: str) -> bool:
        return text.isupper()


def test_register__rejects_id_and_alias_clashes() -> None:
    reg = Registry()
    reg.register(_Shout)
    with pytest.raises(RegistrationError, match="'test.shout' is already taken by test.shout"):
        reg.register(_Shout)


def test_register__rejects_malformed_declarations() -> None:
    bad = type("Bad", (HardConstraint,), {"id": "nodot", "family": "x"})
    with pytest.raises(RegistrationError, match="ids look like 'family.name'"):
        Registry().register(bad)
    with pytest.raises(RegistrationError, match="not a Constraint subclass"):
        Registry().register(int)  # type: ignore[arg-type]


def test_conflicts__same_type_and_declared_clashes() -> None:
    reg = BUILTINS
    upper = reg.build("case.whole", {"case": "upper"})
    lower = reg.build("case.whole", {"case": "lower"})
    capitals = reg.build("case.capital_words", {"relation": "at least", "frequency": 2})
    words = reg.build("length.words", {"relation": "less than", "num_words": 50})
    assert upper.conflicts_with(lower) and lower.conflicts_with(capitals) and capitals.conflicts_with(lower)
    assert not upper.conflicts_with(words)


def test_builtin_registry__holds_no_plugin_and_default_registry_starts_from_it() -> None:
    builtins = builtin_registry()
    assert set(builtins.origin.values()) == {""}
    default = default_registry()
    assert set(builtins.ids()) <= set(default.ids())
    assert all(default.origin[i] for i in set(default.ids()) - set(builtins.ids()))


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("count:word_count_range", [], id="no_family_no_hint"),
    pytest.param("soft.wordcount", ["soft.word_count", "soft.document_count", "soft.paragraph_count"],
                 id="same_family"),
    pytest.param("length.wrods", ["length.words", "length.paragraphs"], id="native_family"),
    pytest.param("punctuation.no_coma", ["punctuation.no_comma", "punctuation:no_comma"], id="either_separator"),
])
def test_unknown_id__suggests_within_the_family_only(name: str, expected: list[str]) -> None:
    """``count:word_count_range`` once drew ``soft.word_count``: hints never cross families now."""
    assert builtin_registry().suggest(name) == expected
