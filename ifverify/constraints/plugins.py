"""Plugins: constraint types from other distributions, through the entry-point group ``ifverify.constraints``.

A distribution declares an entry point in that group.  Its *name* is the plugin's namespace, and its
*value* names one of:

* a :class:`~ifverify.constraints.base.Constraint` subclass;
* a list or tuple of such classes;
* a :class:`CompatibilityPack` (types plus the foreign alias prefixes they serve);
* a zero-argument callable returning one class, an iterable of classes, or a :class:`CompatibilityPack`.

Loading runs three pure steps, each a public function, and then registers what survived:

1. :func:`find_plugins` lists the entry points and imports nothing.  They are sorted by distribution
   name, then entry point name, then value, so the load order never depends on ``sys.path`` order.
2. :func:`load_plugin` imports the entry point and expands it into a tuple of objects.  Every failure
   (import, missing attribute, the factory raising, its result failing to iterate) becomes one
   :class:`PluginLoadError` that names the plugin and keeps the original exception.
3. :func:`validate_plugin` checks every object: a well-formed constraint type (the registry's
   :func:`~ifverify.constraints.registry.check_declaration`); an id whose family part (the text before
   the first ``.``) equals the entry point name; aliases starting with ``<name>.`` or ``<name>:``, or
   with one of the alias prefixes a compatibility pack declares; no id or alias declared twice in the
   plugin; none already registered (a clash names both distributions).  Failures raise
   :class:`PluginValidationError`.

:func:`load_plugins` runs the steps for every plugin.  A plugin that fails any step is skipped whole,
with one :class:`PluginWarning` and one log record on the ``ifverify.plugins`` logger; it never raises,
so neither ``import ifverify`` nor the registry can be broken by an installed plugin.  What happened is
kept per registry and returned by :func:`plugin_report`.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ifverify.constraints.base import Constraint, ConstraintError
from ifverify.constraints.declaration import check_declaration

if TYPE_CHECKING:  # the registry imports this module to load plugins into the default registry
    from ifverify.constraints.registry import Registry

__all__ = [
    "GROUP",
    "CompatibilityPack",
    "LoadedPlugin",
    "Plugin",
    "PluginError",
    "PluginLoadError",
    "PluginOutcome",
    "PluginReport",
    "PluginValidationError",
    "PluginWarning",
    "find_plugins",
    "load_plugin",
    "load_plugins",
    "plugin_report",
    "validate_plugin",
]

#: The entry-point group that plugins register under.
GROUP = "ifverify.constraints"
#: Distribution name used for an entry point with no distribution attached (e.g. one built by hand).
UNKNOWN_DISTRIBUTION = "unknown"

logger = logging.getLogger("ifverify.plugins")
# A library does not configure logging; without this, Python's last-resort handler would print every
# record a second time next to the PluginWarning.
logger.addHandler(logging.NullHandler())


# -- data ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plugin:
    """One entry point of the group, with the distribution that declared it (nothing imported yet)."""

    distribution: str
    version: str
    entry_point: metadata.EntryPoint

    @property
    def name(self) -> str:
        """The entry point's name, which is also the plugin's namespace."""
        return self.entry_point.name

    @property
    def origin(self) -> str:
        """``"<distribution>:<entry point name>"``, recorded as the registry origin of each id it adds."""
        return f"{self.distribution}:{self.name}"

    def __str__(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"plugin '{self.name} = {self.entry_point.value}' (distribution {self.distribution}{version})"


@dataclass(frozen=True)
class CompatibilityPack:
    """What a compatibility pack's entry point gives: its constraint types, and the alias prefixes it serves.

    A pack makes another benchmark's instruction ids work unchanged (IFBench's ``format:emoji``,
    ``count:numbers``, ...).  Its native ids stay in its own namespace; its aliases may also start with
    any of ``alias_prefixes`` (each ending in ``:`` or ``.``), as long as no alias is already taken.
    """

    types: tuple[Any, ...]
    alias_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin whose entry point was imported and expanded; ``items`` are not validated yet."""

    plugin: Plugin
    items: tuple[Any, ...]
    #: Foreign alias prefixes a compatibility pack declares (empty for an ordinary plugin).
    alias_prefixes: tuple[Any, ...] = ()


class PluginError(ConstraintError):
    """Base of plugin errors: ``str(error)`` is ``"<plugin>: <reason>"``."""

    def __init__(self, plugin: Plugin, reason: str) -> None:
        self.plugin = plugin
        self.reason = reason
        super().__init__(f"{plugin}: {reason}")


class PluginLoadError(PluginError):
    """Importing or expanding a plugin failed; the exception raised is kept as ``original``/``__cause__``."""

    def __init__(self, plugin: Plugin, stage: str, original: BaseException) -> None:
        self.original = original
        super().__init__(plugin, f"{stage}: {type(original).__name__}: {original}")


class PluginValidationError(PluginError):
    """A plugin provides something that is not a well-formed constraint type in its own namespace."""


class PluginWarning(UserWarning):
    """Emitted once for each plugin that is skipped."""


@dataclass(frozen=True)
class PluginOutcome:
    """What became of one plugin: the ids it registered, or the error that got it skipped."""

    plugin: Plugin
    ids: tuple[str, ...] = ()
    error: str | None = None
    alias_prefixes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "distribution": self.plugin.distribution,
            "version": self.plugin.version,
            "entry_point": self.plugin.name,
            "value": self.plugin.entry_point.value,
            "ids": list(self.ids),
            "alias_prefixes": list(self.alias_prefixes),
            "error": self.error,
        }


@dataclass(frozen=True)
class PluginReport:
    """Every plugin found, in load order, with its outcome."""

    outcomes: tuple[PluginOutcome, ...] = ()

    @property
    def loaded(self) -> tuple[PluginOutcome, ...]:
        return tuple(o for o in self.outcomes if o.ok)

    @property
    def failed(self) -> tuple[PluginOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    def to_dicts(self) -> list[dict[str, Any]]:
        return [o.to_dict() for o in self.outcomes]


# -- step 1: find -------------------------------------------------------------------------------------
def find_plugins(entry_points: Iterable[metadata.EntryPoint] | None = None) -> list[Plugin]:
    """The plugins declared in group :data:`GROUP`, sorted; nothing is imported.

    ``entry_points`` defaults to the installed ones; entry points of other groups are ignored.  The sort
    key is (distribution name, entry point name, entry point value).  An entry point with no
    distribution gets the distribution name ``"unknown"`` and an empty version.
    """
    if entry_points is None:
        entry_points = metadata.entry_points(group=GROUP)
    plugins = [_plugin(ep) for ep in entry_points if ep.group == GROUP]
    return sorted(plugins, key=lambda p: (p.distribution, p.name, p.entry_point.value))


def _plugin(ep: metadata.EntryPoint) -> Plugin:
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) if dist is not None else None
    version = getattr(dist, "version", None) if dist is not None else None
    return Plugin(name or UNKNOWN_DISTRIBUTION, version or "", ep)


# -- step 2: load -------------------------------------------------------------------------------------
def load_plugin(plugin: Plugin) -> LoadedPlugin:
    """Import the entry point and expand it into a tuple of (not yet validated) objects.

    Expansion: a class gives itself; a list or tuple gives its items; a :class:`CompatibilityPack` gives
    its types and alias prefixes; any other callable is called with no arguments and its result expanded
    once more (a class gives itself; a pack as above; an iterable other than a str, bytes or mapping gives
    its items); anything else gives itself, for :func:`validate_plugin` to reject.

    Raises :class:`PluginLoadError` for any ``Exception`` on the way: ``"<plugin>: import failed: ..."``
    or ``"<plugin>: calling the factory failed: ..."``, followed by the original's type and message.
    """
    try:
        obj = plugin.entry_point.load()
    except Exception as exc:
        raise PluginLoadError(plugin, "import failed", exc) from exc
    if isinstance(obj, type):
        return LoadedPlugin(plugin, (obj,))
    if isinstance(obj, CompatibilityPack):
        return _loaded_pack(plugin, obj)
    if isinstance(obj, (list, tuple)):
        return LoadedPlugin(plugin, tuple(obj))
    if not callable(obj):
        return LoadedPlugin(plugin, (obj,))
    try:
        result = obj()
        if isinstance(result, CompatibilityPack):
            return _loaded_pack(plugin, result)
        if isinstance(result, (type, str, bytes, Mapping)) or not isinstance(result, Iterable):
            items: tuple[Any, ...] = (result,)
        else:
            items = tuple(result)
    except Exception as exc:
        raise PluginLoadError(plugin, "calling the factory failed", exc) from exc
    return LoadedPlugin(plugin, items)


def _loaded_pack(plugin: Plugin, pack: CompatibilityPack) -> LoadedPlugin:
    items = pack.types if isinstance(pack.types, (list, tuple)) else (pack.types,)
    prefixes = pack.alias_prefixes if isinstance(pack.alias_prefixes, (list, tuple)) else (pack.alias_prefixes,)
    return LoadedPlugin(plugin, tuple(items), tuple(prefixes))


# -- step 3: validate ---------------------------------------------------------------------------------
def validate_plugin(loaded: LoadedPlugin, registry: Registry) -> list[type[Constraint]]:
    """The plugin's constraint types, once every rule holds; raises :class:`PluginValidationError`.

    Rules, checked in this order over all items before anything is registered:

    * the entry point name is a bare namespace: non-empty, without ``.``, ``:`` or whitespace, and not
      the family of a built-in type (``length``, ``format``, ...);
    * the plugin provides at least one item;
    * each item passes :func:`~ifverify.constraints.registry.check_declaration` (a ``Constraint``
      subclass with a non-empty ``id``, ``kind`` and ``family``, an id like ``family.name``, ``Alias``
      aliases, an object params schema);
    * a compatibility pack's alias prefixes are non-empty strings ending in ``:`` or ``.``, without
      whitespace;
    * each id's family part (the text before the first ``.``) equals the entry point name, and each alias
      starts with ``<name>.`` or ``<name>:`` or with one of the pack's alias prefixes;
    * no id or alias appears twice within the plugin (the same class listed twice counts);
    * no id or alias is already taken in ``registry`` (by a built-in or an earlier plugin); the error
      names both distributions.
    """
    plugin = loaded.plugin
    namespace = plugin.name
    if not namespace or any(c in ".:" or c.isspace() for c in namespace):
        raise PluginValidationError(
            plugin, f"entry point name {namespace!r} is not a namespace (a bare name without '.' or ':')")
    builtin_families = {cls.id.split(".", 1)[0] for cls in registry if not registry.origin.get(cls.id)}
    if namespace in builtin_families:
        raise PluginValidationError(
            plugin, f"namespace {namespace!r} belongs to ifverify's built-in types; choose another entry point name")
    if not loaded.items:
        raise PluginValidationError(plugin, "provides no constraint types")
    prefixes = _check_prefixes(plugin, loaded.alias_prefixes)
    classes: list[type[Constraint]] = []
    for item in loaded.items:
        try:
            check_declaration(item)
        except ConstraintError as exc:
            raise PluginValidationError(plugin, str(exc)) from exc
        except Exception as exc:  # e.g. ``aliases = 5``: check_declaration iterates it
            raise PluginValidationError(plugin, f"malformed declaration {item!r}: "
                                                f"{type(exc).__name__}: {exc}") from exc
        _check_namespace(plugin, item, prefixes)
        classes.append(item)
    _check_unique(plugin, classes, registry)
    return classes


def _check_prefixes(plugin: Plugin, prefixes: tuple[Any, ...]) -> tuple[str, ...]:
    for prefix in prefixes:
        if (not isinstance(prefix, str) or len(prefix) < 2 or prefix[-1] not in ".:"
                or any(c.isspace() for c in prefix) or prefix[0] in ".:"):
            raise PluginValidationError(
                plugin, f"alias prefix {prefix!r} is not a prefix like 'format:' (a name ending in ':' or '.')")
    return tuple(prefixes)


def _check_namespace(plugin: Plugin, cls: type[Constraint], prefixes: tuple[str, ...] = ()) -> None:
    ns = plugin.name
    if cls.id.split(".", 1)[0] != ns:
        raise PluginValidationError(
            plugin, f"id {cls.id!r} of class {cls.__qualname__} is outside the plugin's namespace; "
                    f"entry point {ns!r} may only add ids starting with '{ns}.'")
    allowed = (f"{ns}.", f"{ns}:", *prefixes)
    for alias in cls.aliases:
        if not alias.name.startswith(allowed):
            declared = f" or a declared prefix ({', '.join(repr(p) for p in prefixes)})" if prefixes else ""
            raise PluginValidationError(
                plugin, f"alias {alias.name!r} of {cls.id} is outside the plugin's namespace; "
                        f"entry point {ns!r} may only add aliases starting with '{ns}.' or '{ns}:'{declared}")


def _check_unique(plugin: Plugin, classes: list[type[Constraint]], registry: Registry) -> None:
    seen: dict[str, type[Constraint]] = {}
    for cls in classes:
        for what, name in [("id", cls.id), *(("alias", a.name) for a in cls.aliases)]:
            if name in seen:
                raise PluginValidationError(
                    plugin, f"{what} {name!r} is declared twice in this plugin, by class "
                            f"{seen[name].__qualname__} and by class {cls.__qualname__}")
            seen[name] = cls
            if name in registry:
                owner = registry.get(name)
                raise PluginValidationError(
                    plugin, f"{what} {name!r} of class {cls.__qualname__} (distribution {plugin.distribution}) "
                            f"is already taken by {owner.id} ({_owner(registry.origin.get(owner.id))})")


def _owner(origin: str | None) -> str:
    """Who registered an id, from its registry origin ``"<distribution>:<entry point>"`` ("" = built-in)."""
    if not origin:
        return "built-in, distribution ifverify"
    distribution, _, entry_point = origin.rpartition(":")
    return f"distribution {distribution}, entry point {entry_point}"


# -- all steps ----------------------------------------------------------------------------------------
_REPORTS: weakref.WeakKeyDictionary[Registry, PluginReport] = weakref.WeakKeyDictionary()


def load_plugins(registry: Registry,
                 entry_points: Iterable[metadata.EntryPoint] | None = None) -> PluginReport:
    """Find, load, validate and register every plugin into ``registry``; never raises.

    Each valid plugin's classes are registered with ``origin="<distribution>:<entry point name>"``.  A
    plugin failing any step is skipped whole (none of its classes is registered), with exactly one
    :class:`PluginWarning` ``"ifverify skipped <plugin>: <reason>"`` and one WARNING record (with the
    traceback) on the ``ifverify.plugins`` logger.  The report is returned and kept for
    :func:`plugin_report`; calling this again on the same registry replaces it (and reports every
    plugin as a clash, since its ids are taken: load plugins once per registry).
    """
    try:
        plugins = find_plugins(entry_points)
    except Exception as exc:  # broken metadata on sys.path must not break the registry either
        _skip(f"ifverify could not list the {GROUP!r} entry points: {type(exc).__name__}: {exc}", exc, 3)
        plugins = []
    outcomes = []
    for plugin in plugins:  # a plain loop, not a comprehension, keeps the warning's stacklevel right
        outcomes.append(_load_one(plugin, registry))
    report = PluginReport(tuple(outcomes))
    _REPORTS[registry] = report
    return report


def _load_one(plugin: Plugin, registry: Registry) -> PluginOutcome:
    try:
        loaded = load_plugin(plugin)
        classes = validate_plugin(loaded, registry)
        # validate_plugin checked everything register() checks, so nothing below is expected to fail.
        for cls in classes:
            registry.register(cls, origin=plugin.origin)
    except Exception as exc:
        reason = exc.reason if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
        _skip(f"ifverify skipped {plugin}: {reason}", exc, 4)
        return PluginOutcome(plugin, error=reason)
    ids = tuple(cls.id for cls in classes)
    logger.debug("loaded %s: %s", plugin, ", ".join(ids))
    return PluginOutcome(plugin, ids=ids, alias_prefixes=tuple(loaded.alias_prefixes))


def _skip(message: str, exc: BaseException, stacklevel: int) -> None:
    # stacklevel points the warning at whoever called load_plugins (usually default_registry).
    warnings.warn(message, PluginWarning, stacklevel=stacklevel)
    logger.warning("%s", message, exc_info=exc)


def plugin_report(registry: Registry) -> list[dict[str, Any]]:
    """What :func:`load_plugins` did for ``registry`` (``default_registry()`` for the process-wide one).

    One dict per plugin found, in load order, with keys ``distribution``, ``version``, ``entry_point``
    (its name), ``value`` (``module:attr``), ``ids`` (registered ids, in the order the plugin gave them;
    empty on failure) and ``error`` (the reason it was skipped, or ``None``).  Empty if plugins were never
    loaded into ``registry``.
    """
    report = _REPORTS.get(registry)
    return report.to_dicts() if report is not None else []
