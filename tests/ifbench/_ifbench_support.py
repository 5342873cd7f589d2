"""Helpers for the IFBench pack's tests: the vendored data and a registry of built-ins plus the pack.

(Not a ``conftest.py``: ``tests/`` modules import ``conftest`` by name, and a second one here would shadow
it.)  Each test module starts with ``pytest.importorskip("ifverify_ifbench")``, so without the pack
installed the rest of the suite still runs.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ifverify.constraints.registry import Registry, builtin_types

DATA = Path(__file__).resolve().parents[2] / "third_party" / "ifbench"


def read_jsonl(name: str) -> list[dict[str, Any]]:
    with open(DATA / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@lru_cache(maxsize=1)
def pack_registry() -> Registry:
    """Built-ins plus the pack, validated and registered as its entry point would be (no other plugin)."""
    from ifverify_ifbench import pack

    from ifverify.constraints.plugins import LoadedPlugin, find_plugins, validate_plugin

    registry = Registry()
    for cls in builtin_types():
        registry.register(cls)
    (found,) = [p for p in find_plugins() if p.name == "ifbench"]
    loaded = pack()
    for cls in validate_plugin(LoadedPlugin(found, loaded.types, loaded.alias_prefixes), registry):
        registry.register(cls, origin=found.origin)
    return registry


def tagger_installed() -> bool:
    """True when NLTK's perceptron tagger data is present (ifbench semantics of words:start_verb)."""
    from ifverify_ifbench import _tagging

    try:
        _tagging.require_nltk_tagger()
    except _tagging.MissingDataError:
        return False
    return True
