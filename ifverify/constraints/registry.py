"""The registry: every constraint type, built-in or plugin, by id and by alias.

Built-ins are registered lazily on first use (importing :mod:`ifverify` does no work); plugins from the
``ifverify.constraints`` entry-point group are loaded at the same moment, and a broken plugin is skipped
with a warning.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ifverify.constraints.base import (
    _MISSING,
    HARD,
    SOFT,
    Alias,
    Constraint,
    ParamsError,
    UnknownConstraintError,
)
from ifverify.constraints.declaration import RegistrationError, check_declaration

__all__ = ["RegistrationError", "Registry", "build", "builtin_registry", "builtin_types", "check_declaration",
           "default_registry", "get"]


class Registry:
    """Maps ids and aliases to constraint types.  Ids look like ``family.name``."""

    def __init__(self) -> None:
        self._types: dict[str, type[Constraint]] = {}
        self._aliases: dict[str, tuple[type[Constraint], Alias]] = {}
        #: id -> name of the plugin entry point that added it ("" for built-ins)
        self.origin: dict[str, str] = {}

    # -- registration -------------------------------------------------------------------------------
    def register(self, cls: type[Constraint], *, origin: str = "") -> type[Constraint]:
        check_declaration(cls)
        names = [cls.id, *(a.name for a in cls.aliases)]
        for name in names:
            if name in self._types or name in self._aliases:
                owner = self._types.get(name) or self._aliases[name][0]
                raise RegistrationError(f"{cls.__qualname__}: id or alias {name!r} is already taken by "
                                        f"{owner.id} ({self.origin.get(owner.id) or 'built-in'})")
        self._types[cls.id] = cls
        for alias in cls.aliases:
            self._aliases[alias.name] = (cls, alias)
        self.origin[cls.id] = origin
        return cls

    # -- lookup -------------------------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[type[Constraint], Alias | None]:
        """The type behind an id or alias, and the alias used (None for a native id)."""
        if name in self._types:
            return self._types[name], None
        if name in self._aliases:
            return self._aliases[name]
        if not isinstance(name, str):
            raise UnknownConstraintError(repr(name), [])
        raise UnknownConstraintError(name, self.suggest(name))

    def suggest(self, name: str) -> list[str]:
        """Up to 3 registered ids or aliases close to ``name``, from its own family only.

        The family is the text before the first ``.`` or ``:`` (``length`` for ``length.wrods``, ``count``
        for ``count:word_count_range``); ids and aliases of that family qualify, whichever separator they
        use.  A name without a separator is compared with every id and alias.
        """
        family = _family(name)
        choices = [c for c in (*self._types, *self._aliases) if family is None or _family(c) == family]
        return difflib.get_close_matches(name, choices, n=3, cutoff=0.6)

    def get(self, name: str) -> type[Constraint]:
        return self.resolve(name)[0]

    def __contains__(self, name: object) -> bool:
        return name in self._types or name in self._aliases

    def __iter__(self) -> Iterator[type[Constraint]]:
        return iter(sorted(self._types.values(), key=lambda c: (c.kind != HARD, c.id)))

    def __len__(self) -> int:
        return len(self._types)

    def ids(self, kind: str | None = None) -> list[str]:
        return [c.id for c in self if kind is None or c.kind == kind]

    # -- building instances ------------------------------------------------------------------------
    def build(self, name: str, params: Mapping[str, Any] | None = None, text: str | None = None) -> Constraint:
        """An instance of the type named ``name`` (id or alias), validated now."""
        cls, alias = self.resolve(name)
        if cls.kind == SOFT:
            return cls(params, text=text, alias=alias)  # type: ignore[call-arg]
        if text is not None and not params:
            raise ParamsError(name, "text", text, "params (a hard constraint takes params, not text)")
        return cls(params, alias=alias)

    def build_spec(self, spec: Mapping[str, Any]) -> Constraint:
        """Build from the native JSON form ``{"id": ..., "params": {...}}`` or ``{"id": ..., "text": ...}``."""
        if not isinstance(spec, Mapping):
            raise ParamsError("(constraint)", "constraint", spec, 'an object like {"id": ..., "params": {...}}')
        name = spec.get("id", _MISSING)
        if not isinstance(name, str):
            raise ParamsError("(constraint)", "id", name, "a constraint id string")
        params = spec.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise ParamsError(name, "params", params, "an object")
        return self.build(name, params, spec.get("text"))


def _family(name: str) -> str | None:
    """The text before the first ``.`` or ``:`` of an id or alias; None when it has neither."""
    cut = min((i for i in (name.find("."), name.find(":")) if i >= 0), default=-1)
    return name[:cut] if cut >= 0 else None


_LOCK = threading.Lock()
_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry: built-ins plus the installed plugins, built once on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                registry = builtin_registry()
                from ifverify.constraints.plugins import load_plugins

                load_plugins(registry)
                _DEFAULT = registry
    return _DEFAULT


def builtin_registry() -> Registry:
    """A new registry of ifverify's built-in types only, no plugin: what tests about the built-ins use, so
    they hold whether or not plugins are installed."""
    registry = Registry()
    for cls in builtin_types():
        registry.register(cls)
    return registry


def builtin_types() -> Iterable[type[Constraint]]:
    """Every built-in constraint type, hard ones first, then the soft ones."""
    from ifverify.constraints.soft import soft_types
    from ifverify.verifiers import hard_types

    yield from hard_types()
    yield from soft_types()


def get(name: str) -> type[Constraint]:
    return default_registry().get(name)


def build(name: str, params: Mapping[str, Any] | None = None, text: str | None = None) -> Constraint:
    return default_registry().build(name, params, text)
