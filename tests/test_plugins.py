"""Plugins through the ``ifverify.constraints`` entry-point group: find, load, validate, register.

Every test builds real ``importlib.metadata.EntryPoint`` objects (no mocks); plugin code lives in small
modules written to ``tmp_path`` and put on ``sys.path``.  The integration tests pip-install the example
distribution in ``examples/ifverify-plugin-acme`` and use it from a fresh interpreter.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from ifverify.constraints.base import Alias, Constraint, HardConstraint
from ifverify.constraints.plugins import (
    GROUP,
    LoadedPlugin,
    Plugin,
    PluginLoadError,
    PluginValidationError,
    PluginWarning,
    find_plugins,
    load_plugin,
    load_plugins,
    plugin_report,
    validate_plugin,
)
from ifverify.constraints.registry import Registry
from ifverify.verifiers import hard_types

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "ifverify-plugin-acme"

PRELUDE = "from ifverify.constraints.base import Alias, HardConstraint\n\n"
SHOUT = '''
class Shout(HardConstraint):
    """All letters upper case."""
    id = "acme.shout"
    family = "acme"
    aliases = (Alias("acme:shout"),)
    templates = ("Answer in capital letters.",)

    def check(self, text):
        return text == text.upper()
'''
WHISPER = '''
class Whisper(HardConstraint):
    id = "acme.whisper"
    family = "acme"
    aliases = (Alias("acme.quiet"),)

    def check(self, text):
        return text == text.lower()
'''


class Taken(HardConstraint):
    """Stands in for a built-in whose id is in the ``acme`` namespace."""

    id = "acme.taken"
    family = "acme"
    aliases = (Alias("acme:taken"),)

    def check(self, text: str) -> bool:
        return True


def ep(value: str, name: str = "acme") -> metadata.EntryPoint:
    return metadata.EntryPoint(name, value, GROUP)


def plugin(value: str, name: str = "acme") -> Plugin:
    (found,) = find_plugins([ep(value, name)])
    return found


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], str]]:
    """Write ``PRELUDE + source`` as module ``name`` importable for this test only; returns ``name``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(PRELUDE + textwrap.dedent(source), encoding="utf-8")
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def fresh_registry() -> Registry:
    """A registry where 'acme.taken' is already held by another distribution's plugin."""
    registry = Registry()
    registry.register(Taken, origin="other-dist:acme")
    return registry


# -- find ---------------------------------------------------------------------------------------------
def test_find__imports_nothing_and_names_unknown_distribution() -> None:
    found = find_plugins([ep("missing_mod:X")])
    assert found == [Plugin("unknown", "", ep("missing_mod:X"))]
    assert found[0].origin == "unknown:acme"
    assert str(found[0]) == "plugin 'acme = missing_mod:X' (distribution unknown)"
    assert "missing_mod" not in sys.modules


def test_find__ignores_other_groups() -> None:
    other = metadata.EntryPoint("acme", "missing_mod:X", "console_scripts")
    assert find_plugins([other]) == []


def _dist_info(root: Path, dist: str, version: str, entry_points: str) -> None:
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{entry_points}\n[console_scripts]\nx = y:z\n")


def test_find__sorts_by_distribution_then_entry_point(tmp_path: Path) -> None:
    _dist_info(tmp_path, "zeta-plugin", "2.0", "beta = zeta_mod:B\nalpha = zeta_mod:A\n")
    _dist_info(tmp_path, "alpha-plugin", "1.0", "zzz = alpha_mod:Z\n")
    eps = [e for d in metadata.distributions(path=[str(tmp_path)]) for e in d.entry_points]
    found = find_plugins(reversed(eps))
    assert [(p.distribution, p.version, p.name) for p in found] == [
        ("alpha-plugin", "1.0", "zzz"), ("zeta-plugin", "2.0", "alpha"), ("zeta-plugin", "2.0", "beta")]
    assert str(found[0]) == "plugin 'zzz = alpha_mod:Z' (distribution alpha-plugin 1.0)"


def test_find__defaults_to_installed_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _dist_info(tmp_path, "ifverify-test-plugin", "0.3", "acme = not_importable_mod:X\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mine = [p for p in find_plugins() if p.distribution == "ifverify-test-plugin"]
    assert [(p.version, p.name, p.entry_point.value) for p in mine] == [
        ("0.3", "acme", "not_importable_mod:X")]


# -- load ---------------------------------------------------------------------------------------------
def test_load__missing_module() -> None:
    with pytest.raises(PluginLoadError) as info:
        load_plugin(plugin("missing_mod:X"))
    assert str(info.value) == ("plugin 'acme = missing_mod:X' (distribution unknown): "
                               "import failed: ModuleNotFoundError: No module named 'missing_mod'")
    assert isinstance(info.value.original, ModuleNotFoundError)
    assert info.value.__cause__ is info.value.original


def test_load__missing_attribute(module: Callable[[str, str], str]) -> None:
    module("plug_noattr", SHOUT)
    with pytest.raises(PluginLoadError) as info:
        load_plugin(plugin("plug_noattr:Nope"))
    assert str(info.value) == ("plugin 'acme = plug_noattr:Nope' (distribution unknown): "
                               "import failed: AttributeError: module 'plug_noattr' has no attribute 'Nope'")
    assert isinstance(info.value.original, AttributeError)
    assert info.value.__cause__ is info.value.original


def test_load__module_raising_at_import(module: Callable[[str, str], str]) -> None:
    module("plug_import_boom", "raise RuntimeError('no config')\n")
    with pytest.raises(PluginLoadError) as info:
        load_plugin(plugin("plug_import_boom:X"))
    assert str(info.value) == ("plugin 'acme = plug_import_boom:X' (distribution unknown): "
                               "import failed: RuntimeError: no config")


def test_load__factory_raising(module: Callable[[str, str], str]) -> None:
    module("plug_factory_boom", "def make():\n    raise RuntimeError('boom')\n")
    with pytest.raises(PluginLoadError) as info:
        load_plugin(plugin("plug_factory_boom:make"))
    assert str(info.value) == ("plugin 'acme = plug_factory_boom:make' (distribution unknown): "
                               "calling the factory failed: RuntimeError: boom")
    assert isinstance(info.value.original, RuntimeError)
    assert info.value.__cause__ is info.value.original


def test_load__generator_raising_midway(module: Callable[[str, str], str]) -> None:
    module("plug_gen_boom", SHOUT + "\ndef make():\n    yield Shout\n    raise KeyError('later')\n")
    with pytest.raises(PluginLoadError, match=r"calling the factory failed: KeyError: 'later'$"):
        load_plugin(plugin("plug_gen_boom:make"))


@pytest.mark.parametrize("attr", ["Shout", "AS_LIST", "AS_TUPLE", "make_list", "make_gen", "make_one"])
def test_load__expands_every_supported_form(module: Callable[[str, str], str], attr: str) -> None:
    module("plug_forms", SHOUT + WHISPER + textwrap.dedent("""
        AS_LIST = [Shout, Whisper]
        AS_TUPLE = (Shout, Whisper)
        def make_list():
            return [Shout, Whisper]
        def make_gen():
            yield Shout
            yield Whisper
        def make_one():
            return Shout
        """))
    loaded = load_plugin(plugin(f"plug_forms:{attr}"))
    names = [cls.__name__ for cls in loaded.items]
    assert names == (["Shout"] if attr in ("Shout", "make_one") else ["Shout", "Whisper"])


# -- validate -----------------------------------------------------------------------------------------
def _validate(value: str, registry: Registry | None = None, name: str = "acme") -> list[type[Constraint]]:
    return validate_plugin(load_plugin(plugin(value, name)), registry or fresh_registry())


def test_validate__good_plugin(module: Callable[[str, str], str]) -> None:
    module("plug_good", SHOUT + WHISPER + "\nTYPES = [Shout, Whisper]\n")
    assert [c.id for c in _validate("plug_good:TYPES")] == ["acme.shout", "acme.whisper"]


@pytest.mark.parametrize("source", ["THING = 5\n", "def THING():\n    return 5\n"], ids=["value", "factory"])
def test_validate__wrong_type(module: Callable[[str, str], str], source: str) -> None:
    module("plug_int", source)
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_int:THING")
    assert str(info.value) == ("plugin 'acme = plug_int:THING' (distribution unknown): "
                               "5 is not a Constraint subclass")


def test_validate__malformed_declaration(module: Callable[[str, str], str]) -> None:
    module("plug_nofamily", SHOUT.replace('    family = "acme"\n', ""))
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_nofamily:Shout")
    assert str(info.value) == ("plugin 'acme = plug_nofamily:Shout' (distribution unknown): "
                               "Shout: class attribute 'family' must be a non-empty string")


def test_validate__aliases_not_a_tuple(module: Callable[[str, str], str]) -> None:
    module("plug_badalias", SHOUT.replace('(Alias("acme:shout"),)', "5"))
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_badalias:Shout")
    assert str(info.value) == (
        "plugin 'acme = plug_badalias:Shout' (distribution unknown): malformed declaration "
        "<class 'plug_badalias.Shout'>: TypeError: 'int' object is not iterable")


def test_validate__id_outside_namespace(module: Callable[[str, str], str]) -> None:
    module("plug_outside", SHOUT.replace('"acme.shout"', '"format.shout"'))
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_outside:Shout")
    assert str(info.value) == (
        "plugin 'acme = plug_outside:Shout' (distribution unknown): id 'format.shout' of class Shout is "
        "outside the plugin's namespace; entry point 'acme' may only add ids starting with 'acme.'")


def test_validate__id_prefix_is_not_a_namespace(module: Callable[[str, str], str]) -> None:
    module("plug_prefix", SHOUT.replace('"acme.shout"', '"acmeco.shout"'))
    with pytest.raises(PluginValidationError, match=r"id 'acmeco.shout' of class Shout is outside"):
        _validate("plug_prefix:Shout")


def test_validate__alias_outside_namespace(module: Callable[[str, str], str]) -> None:
    module("plug_alias", SHOUT.replace('Alias("acme:shout")', 'Alias("keywords:shout")'))
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_alias:Shout")
    assert str(info.value) == (
        "plugin 'acme = plug_alias:Shout' (distribution unknown): alias 'keywords:shout' of acme.shout is "
        "outside the plugin's namespace; entry point 'acme' may only add aliases starting with 'acme.' or "
        "'acme:'")


def test_validate__entry_point_name_must_be_bare(module: Callable[[str, str], str]) -> None:
    module("plug_dotted", SHOUT)
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_dotted:Shout", name="acme.sub")
    assert str(info.value) == ("plugin 'acme.sub = plug_dotted:Shout' (distribution unknown): entry point "
                               "name 'acme.sub' is not a namespace (a bare name without '.' or ':')")


def test_validate__duplicate_id_within_plugin(module: Callable[[str, str], str]) -> None:
    module("plug_dup", SHOUT + WHISPER.replace('"acme.whisper"', '"acme.shout"') + "\nT = [Shout, Whisper]\n")
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_dup:T")
    assert str(info.value) == ("plugin 'acme = plug_dup:T' (distribution unknown): id 'acme.shout' is "
                               "declared twice in this plugin, by class Shout and by class Whisper")


def test_validate__alias_equal_to_another_id_within_plugin(module: Callable[[str, str], str]) -> None:
    twin = WHISPER.replace('"acme.quiet"', '"acme.shout"')
    module("plug_dup_alias", SHOUT + twin + "\nT = [Shout, Whisper]\n")
    with pytest.raises(PluginValidationError, match=r"alias 'acme.shout' is declared twice in this plugin, "
                                                    r"by class Shout and by class Whisper$"):
        _validate("plug_dup_alias:T")


def test_validate__clash_with_registered_id(module: Callable[[str, str], str]) -> None:
    module("plug_clash", SHOUT.replace('"acme.shout"', '"acme.taken"').replace("acme:shout", "acme:again"))
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_clash:Shout")
    assert str(info.value) == ("plugin 'acme = plug_clash:Shout' (distribution unknown): id 'acme.taken' of "
                               "class Shout (distribution unknown) is already taken by acme.taken "
                               "(distribution other-dist, entry point acme)")


def test_validate__builtin_family_is_not_a_plugin_namespace(module: Callable[[str, str], str]) -> None:
    module("plug_length", SHOUT.replace("acme", "length"))
    registry = Registry()
    for cls in hard_types():
        registry.register(cls)
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_length:Shout", registry, name="length")
    assert str(info.value) == ("plugin 'length = plug_length:Shout' (distribution unknown): namespace 'length' "
                               "belongs to ifverify's built-in types; choose another entry point name")


def test_validate__clash_with_alias_of_earlier_plugin(module: Callable[[str, str], str]) -> None:
    module("plug_clash_alias", SHOUT.replace('Alias("acme:shout")', 'Alias("acme:whisper")'))
    registry = Registry()
    registry.register(Taken, origin="other-dist:acme")
    module("plug_first", WHISPER.replace('Alias("acme.quiet")', 'Alias("acme:whisper")'))
    load_plugins(registry, [ep("plug_first:Whisper")])
    with pytest.raises(PluginValidationError) as info:
        _validate("plug_clash_alias:Shout", registry)
    assert str(info.value).endswith(
        ": alias 'acme:whisper' of class Shout (distribution unknown) is already taken by acme.whisper "
        "(distribution unknown, entry point acme)")


# -- compatibility packs: declared alias prefixes ---------------------------------------------------------
FOREIGN = SHOUT.replace('Alias("acme:shout")', 'Alias("format:shout"), Alias("count:shouts")')


def test_pack__declared_prefixes_admit_foreign_aliases(module: Callable[[str, str], str]) -> None:
    module("pack_ok", FOREIGN + "\nfrom ifverify.constraints.plugins import CompatibilityPack\n"
                                "def pack():\n    return CompatibilityPack((Shout,), ('format:', 'count:'))\n")
    loaded = load_plugin(plugin("pack_ok:pack"))
    assert loaded.alias_prefixes == ("format:", "count:")
    registry = Registry()
    for cls in hard_types():
        registry.register(cls)
    assert [c.id for c in validate_plugin(loaded, registry)] == ["acme.shout"]
    report = load_plugins(registry, [ep("pack_ok:pack")])
    assert report.outcomes[0].alias_prefixes == ("format:", "count:")
    assert registry.get("format:shout").id == "acme.shout"


def test_pack__alias_outside_declared_prefixes(module: Callable[[str, str], str]) -> None:
    module("pack_narrow", FOREIGN)
    loaded = LoadedPlugin(plugin("pack_narrow:Shout"), (load_plugin(plugin("pack_narrow:Shout")).items[0],),
                          ("format:",))
    with pytest.raises(PluginValidationError) as info:
        validate_plugin(loaded, Registry())
    assert str(info.value).endswith(
        ": alias 'count:shouts' of acme.shout is outside the plugin's namespace; entry point 'acme' may only "
        "add aliases starting with 'acme.' or 'acme:' or a declared prefix ('format:')")


def test_pack__without_declaration_a_foreign_alias_is_refused(module: Callable[[str, str], str]) -> None:
    module("pack_undeclared", FOREIGN)
    with pytest.raises(PluginValidationError, match=r"alias 'format:shout' of acme.shout is outside"):
        _validate("pack_undeclared:Shout")


@pytest.mark.parametrize("prefix", ["format", "", ":", "for mat:", 5])
def test_pack__malformed_prefix(module: Callable[[str, str], str], prefix: Any) -> None:
    module("pack_bad_prefix", FOREIGN)
    items = load_plugin(plugin("pack_bad_prefix:Shout")).items
    with pytest.raises(PluginValidationError, match=rf"alias prefix {prefix!r} is not a prefix like 'format:'"):
        validate_plugin(LoadedPlugin(plugin("pack_bad_prefix:Shout"), items, (prefix,)), Registry())


def test_pack__collision_names_both_distributions(module: Callable[[str, str], str]) -> None:
    """A pack alias equal to a built-in IFEval id, or to an earlier pack's alias, is refused by name."""
    module("pack_clash", SHOUT.replace('Alias("acme:shout")', 'Alias("detectable_format:title")'))
    registry = Registry()
    for cls in hard_types():
        registry.register(cls)
    items = load_plugin(plugin("pack_clash:Shout")).items
    with pytest.raises(PluginValidationError) as info:
        validate_plugin(LoadedPlugin(plugin("pack_clash:Shout"), items, ("detectable_format:",)), registry)
    assert str(info.value) == (
        "plugin 'acme = pack_clash:Shout' (distribution unknown): alias 'detectable_format:title' of class Shout "
        "(distribution unknown) is already taken by format.title (built-in, distribution ifverify)")
    module("pack_first", WHISPER.replace('Alias("acme.quiet")', 'Alias("format:quiet")')
           + "\nfrom ifverify.constraints.plugins import CompatibilityPack\nP = CompatibilityPack((Whisper,), ('format:',))\n")
    other = Registry()
    other.register(load_plugin(plugin("pack_first:P")).items[0], origin="ifverify-other-pack:acme")
    module("pack_second", SHOUT.replace('Alias("acme:shout")', 'Alias("format:quiet")'))
    items = load_plugin(plugin("pack_second:Shout")).items
    with pytest.raises(PluginValidationError) as info:
        validate_plugin(LoadedPlugin(plugin("pack_second:Shout"), items, ("format:",)), other)
    assert str(info.value).endswith("alias 'format:quiet' of class Shout (distribution unknown) is already taken "
                                    "by acme.whisper (distribution ifverify-other-pack, entry point acme)")


def test_validate__empty_plugin() -> None:
    loaded = LoadedPlugin(plugin("missing_mod:X"), ())
    with pytest.raises(PluginValidationError) as info:
        validate_plugin(loaded, Registry())
    assert str(info.value) == ("plugin 'acme = missing_mod:X' (distribution unknown): "
                               "provides no constraint types")


# -- load_plugins ---------------------------------------------------------------------------------------
def test_load_plugins__registers_with_origin_and_builds(module: Callable[[str, str], str]) -> None:
    module("plug_ok", SHOUT)
    registry = fresh_registry()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = load_plugins(registry, [ep("plug_ok:Shout")])
    assert registry.origin["acme.shout"] == "unknown:acme"
    built = registry.build_spec({"id": "acme:shout", "params": {}})
    assert isinstance(built, HardConstraint)
    assert built.evaluate("HELLO").verdict is True
    assert built.evaluate("Hello").verdict is False
    assert report.failed == ()
    assert plugin_report(registry) == [{"distribution": "unknown", "version": "", "entry_point": "acme",
                                        "value": "plug_ok:Shout", "ids": ["acme.shout"], "alias_prefixes": [],
                                            "error": None}]


BROKEN = ["missing_mod:X", "plug_mixed:Nope", "plug_mixed:boom", "plug_mixed:NUMBER", "plug_mixed:Outside"]


def _broken_setup(module: Callable[[str, str], str]) -> list[metadata.EntryPoint]:
    module("plug_mixed", SHOUT + WHISPER + textwrap.dedent("""
        NUMBER = 5
        def boom():
            raise RuntimeError("boom")
        class Outside(HardConstraint):
            id = "other.thing"
            family = "other"
            def check(self, text):
                return True
        """))
    # The good plugin is listed last but loads first: "acme" sorts before "b0".."b4".
    return [ep(value, f"b{i}") for i, value in enumerate(BROKEN)] + [ep("plug_mixed:Shout", "acme")]


def test_load_plugins__skips_each_broken_plugin_with_one_warning(
        module: Callable[[str, str], str], caplog: pytest.LogCaptureFixture) -> None:
    entry_points = _broken_setup(module)
    registry = fresh_registry()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, "ifverify.plugins"):
        warnings.simplefilter("always")
        report = load_plugins(registry, entry_points)
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert len(caught) == len(messages) == len(BROKEN)
    assert messages == [
        "ifverify skipped plugin 'b0 = missing_mod:X' (distribution unknown): "
        "import failed: ModuleNotFoundError: No module named 'missing_mod'",
        "ifverify skipped plugin 'b1 = plug_mixed:Nope' (distribution unknown): "
        "import failed: AttributeError: module 'plug_mixed' has no attribute 'Nope'",
        "ifverify skipped plugin 'b2 = plug_mixed:boom' (distribution unknown): "
        "calling the factory failed: RuntimeError: boom",
        "ifverify skipped plugin 'b3 = plug_mixed:NUMBER' (distribution unknown): "
        "5 is not a Constraint subclass",
        "ifverify skipped plugin 'b4 = plug_mixed:Outside' (distribution unknown): id 'other.thing' of "
        "class Outside is outside the plugin's namespace; "
        "entry point 'b4' may only add ids starting with 'b4.'",
    ]
    assert [r.getMessage() for r in caplog.records if r.name == "ifverify.plugins"] == messages
    assert all(r.exc_info for r in caplog.records if r.name == "ifverify.plugins")
    assert [o.plugin.name for o in report.loaded] == ["acme"]
    assert registry.ids() == ["acme.shout", "acme.taken"]
    rows = plugin_report(registry)
    assert [(r["entry_point"], r["ids"], r["error"] is None) for r in rows] == [
        ("acme", ["acme.shout"], True), *((f"b{i}", [], False) for i in range(len(BROKEN)))]
    assert rows[1]["error"] == "import failed: ModuleNotFoundError: No module named 'missing_mod'"


def test_load_plugins__skips_a_plugin_whole(module: Callable[[str, str], str]) -> None:
    module("plug_half", SHOUT + textwrap.dedent("""
        class Stray(HardConstraint):
            id = "other.stray"
            family = "other"
            def check(self, text):
                return True
        TYPES = [Shout, Stray]
        """))
    registry = Registry()
    with pytest.warns(PluginWarning, match=r"id 'other.stray' of class Stray is outside"):
        report = load_plugins(registry, [ep("plug_half:TYPES")])
    assert len(registry) == 0 and "acme:shout" not in registry
    assert report.loaded == () and report.failed[0].error is not None


def test_load_plugins__duplicate_within_plugin_registers_nothing(module: Callable[[str, str], str]) -> None:
    module("plug_twice", SHOUT + "\nTYPES = (Shout, Shout)\n")
    registry = Registry()
    with pytest.warns(PluginWarning) as record:
        load_plugins(registry, [ep("plug_twice:TYPES")])
    assert [str(w.message) for w in record] == [
        "ifverify skipped plugin 'acme = plug_twice:TYPES' (distribution unknown): id 'acme.shout' is "
        "declared twice in this plugin, by class Shout and by class Shout"]
    assert len(registry) == 0


def test_load_plugins__never_raises_even_when_listing_fails() -> None:
    def listing() -> Iterator[metadata.EntryPoint]:
        yield ep("missing_mod:X")
        raise OSError("unreadable site-packages")

    registry = Registry()
    with pytest.warns(PluginWarning) as record:
        report = load_plugins(registry, listing())
    assert [str(w.message) for w in record] == [
        "ifverify could not list the 'ifverify.constraints' entry points: OSError: unreadable site-packages"]
    assert report.outcomes == () and plugin_report(registry) == []


def test_plugin_report__empty_for_a_registry_never_loaded() -> None:
    assert plugin_report(Registry()) == []


# -- the example distribution, installed for real -----------------------------------------------------
@pytest.fixture(scope="module")
def acme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-install examples/ifverify-plugin-acme into a private target directory (no dependencies)."""
    root = tmp_path_factory.mktemp("acme")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = shutil.copytree(EXAMPLE, root / "src", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = root / "site"
    base = [sys.executable, "-m", "pip", "install", "--quiet", "--no-input", "--no-deps",
            "--target", str(site)]
    # Without build isolation nothing is downloaded, but setuptools < 70.1 also needs "wheel" installed;
    # if that fails, let pip fetch the build requirements into an isolated environment.
    attempts = [[*base, "--no-build-isolation", str(source)], [*base, str(source)]]
    outputs = []
    for command in attempts:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return site
        outputs.append(done.stdout + done.stderr)
        shutil.rmtree(site, ignore_errors=True)
    pytest.fail("could not pip-install the example plugin:\n" + "\n---\n".join(outputs))


def _run_python(site: Path, code: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO_ROOT)])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=site, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_example_plugin__installed_loads_into_a_fresh_registry(acme_site: Path) -> None:
    out = _run_python(acme_site, """
        import json, warnings
        from ifverify.constraints.registry import Registry
        from ifverify.constraints.plugins import load_plugins, plugin_report
        registry = Registry()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_plugins(registry)
        c = registry.build_spec({"id": "acme:max_line_length", "params": {"max_chars": 10}})
        print(json.dumps({"report": plugin_report(registry), "origin": registry.origin,
                          "instruction": c.instruction(), "ok": c.check("short\\nlines"),
                          "too_long": c.check("this line is too long")}))
        """)
    rows = [r for r in out["report"] if r["distribution"] == "ifverify-plugin-acme"]
    assert rows == [{"distribution": "ifverify-plugin-acme", "version": "0.1.0", "entry_point": "acme",
                     "value": "ifverify_acme:constraint_types",
                     "ids": ["acme.no_exclamation", "acme.max_line_length"], "alias_prefixes": [],
                     "error": None}]
    # Other installed plugins (the IFBench pack) may add their own ids; this one's are exactly these.
    acme = {k: v for k, v in out["origin"].items() if v == "ifverify-plugin-acme:acme"}
    assert acme == {"acme.no_exclamation": "ifverify-plugin-acme:acme",
                             "acme.max_line_length": "ifverify-plugin-acme:acme"}
    assert out["instruction"] == "Keep every line to 10 characters or fewer."
    assert (out["ok"], out["too_long"]) == (True, False)


def test_example_plugin__installed_joins_the_default_registry(acme_site: Path) -> None:
    out = _run_python(acme_site, """
        import json, warnings
        from ifverify.constraints.plugins import PluginWarning
        from ifverify.constraints.registry import default_registry
        with warnings.catch_warnings():
            warnings.simplefilter("error", PluginWarning)
            registry = default_registry()
        assert "acme.no_exclamation" in registry
        no_bang = registry.build_spec({"id": "acme.no_exclamation"})
        lines = registry.build_spec({"id": "acme.max_line_length", "params": {"max_chars": 10}})
        print(json.dumps({"origin": registry.origin["acme.no_exclamation"],
                          "bang": [no_bang.check("Calm."), no_bang.check("Wow!")],
                          "lines": [lines.check("0123456789\\nok"), lines.check("0123456789A")]}))
        """)
    assert out == {"origin": "ifverify-plugin-acme:acme", "bang": [True, False], "lines": [True, False]}


def test_example_plugin__installed_scores_through_check(acme_site: Path, tmp_path: Path) -> None:
    """The installed plugin's ids work in a native check file, next to built-ins and IFEval ids."""
    rows = tmp_path / "rows.jsonl"
    results = tmp_path / "results.jsonl"
    lines = [
        {"prompt": "p1", "response": "Calm words only.",
         "constraints": [{"id": "acme.no_exclamation"}, {"id": "punctuation.no_comma"}]},
        {"prompt": "p2", "response": "Wow! A very long line indeed",
         "constraints": [{"id": "acme:no_exclamation"},
                         {"id": "acme.max_line_length", "params": {"max_chars": 10}}]},
        {"prompt": "p3", "response": "x", "constraints": [{"id": "acme.max_line_length", "params": {}}]},
    ]
    rows.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(acme_site), str(REPO_ROOT)])}
    done = subprocess.run([sys.executable, "-m", "ifverify", "check", str(rows), "--mode", "strict",
                           "--results", str(results), "--format", "json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1  # line 3 lacks a required param
    assert done.stderr.splitlines() == [
        "line 3: constraints[0].params: acme.max_line_length: param 'max_chars' received nothing (missing), "
        "expected an integer >= 1"]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert records[0]["follow_instruction_list"] == [True, True]
    assert records[1]["follow_instruction_list"] == [False, False]
    assert [d["id"] for d in records[1]["details"]] == ["acme.no_exclamation", "acme.max_line_length"]
    # The summary lists a type once: rows 1 and 2 name it by native id and by alias.
    assert json.loads(done.stdout)["per_constraint"]["acme.no_exclamation"]["strict"]["total"] == 2
