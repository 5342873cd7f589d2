"""Reading a row's constraints, in the native form or IFEval's, into built constraint instances.

Native: ``constraints: [{"id": ..., "params": {...}} | {"id": ..., "text": ...}]`` (a list, or that list
as a JSON string, as some dataset tools store it).  IFEval: ``instruction_id_list`` with a parallel
``kwargs`` list (``None`` kwargs and ``None`` values are accepted).  Built instances are cached by their
spec, since datasets repeat the same constraints many times.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from ifverify.constraints.base import Constraint, ConstraintError, UnknownConstraintError, short_repr
from ifverify.constraints.registry import Registry, default_registry
from ifverify.verifiers._memo import TextMemo


class RowError(ValueError):
    """A row that cannot be scored: names the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class ConstraintCache:
    """Built constraints keyed by (id, canonical params, text); thread-safe, bounded by count and by
    the total length of the keys (a constraint costs about as much memory as its params), and a spec
    longer than 256 K characters is built but not kept."""

    def __init__(self, registry: Registry | None = None, size: int = 4096) -> None:
        self._registry = registry
        self._size = size
        self._items = TextMemo(entries=size)

    @property
    def registry(self) -> Registry:
        return self._registry if self._registry is not None else default_registry()

    def build(self, name: str, params: Mapping[str, Any] | None, text: str | None) -> Constraint:
        # repr tells distinct JSON values apart; the same params in another key order only cost a rebuild.
        key = f"{name}\0{params!r}\0{text!r}"
        hit = self._items.get(key, None)
        if hit is not None:
            return cast(Constraint, hit)
        built = self.registry.build(name, params, text)
        self._items.put(key, len(key), built)
        return built

    def __getstate__(self) -> dict[str, Any]:
        return {"_registry": self._registry, "_size": self._size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["_registry"], state["_size"])  # type: ignore[misc]


def constraints_of(row: Mapping[str, Any], cache: ConstraintCache) -> list[Constraint]:
    """The constraints a row carries, native ``constraints`` first, else IFEval's lists.

    Raises :class:`RowError` naming the field (``constraints[2].params``, ``kwargs[1]``) on bad input.
    """
    if row.get("constraints") is not None:
        return _native(row["constraints"], cache)
    if row.get("instruction_id_list") is not None:
        return _ifeval(row["instruction_id_list"], row.get("kwargs"), cache)
    raise RowError("constraints", "missing: give 'constraints' or IFEval's 'instruction_id_list' + 'kwargs'")


_SEQUENCES = (list, tuple)
_MAPPINGS = (dict,)


def _is_seq(value: Any) -> bool:
    """A list-like value that is not text (concrete types first: ABC checks are slow on the hot path)."""
    return type(value) in _SEQUENCES or (isinstance(value, Sequence) and not isinstance(value, str | bytes))


def _is_map(value: Any) -> bool:
    return type(value) in _MAPPINGS or isinstance(value, Mapping)


def _native(specs: Any, cache: ConstraintCache) -> list[Constraint]:
    if isinstance(specs, str):
        try:
            specs = json.loads(specs)
        except ValueError as exc:
            raise RowError("constraints", f"not valid JSON ({short_repr(str(exc), 200)})") from None
    if not _is_seq(specs):
        raise RowError("constraints", f"expected a list of constraints, got {type(specs).__name__}")
    built = []
    for i, spec in enumerate(specs):
        if not _is_map(spec):
            raise RowError(f"constraints[{i}]", f'expected an object like {{"id": ...}}, got {_kind(spec)}')
        name = spec.get("id")
        if not isinstance(name, str):
            raise RowError(f"constraints[{i}].id", f"expected a constraint id string, got {_kind(name)}")
        params = spec.get("params")
        if params is not None and not _is_map(params):
            raise RowError(f"constraints[{i}].params", f"expected an object, got {_kind(params)}")
        try:
            built.append(cache.build(name, params, spec.get("text")))
        except UnknownConstraintError as exc:
            raise RowError(f"constraints[{i}].id", str(exc)) from None
        except ConstraintError as exc:
            raise RowError(f"constraints[{i}].params", str(exc)) from None
    return built


def _ifeval(ids: Any, kwargs: Any, cache: ConstraintCache) -> list[Constraint]:
    if not _is_seq(ids):
        raise RowError("instruction_id_list", f"expected a list of ids, got {_kind(ids)}")
    if kwargs is None:
        kwargs = [None] * len(ids)
    if not _is_seq(kwargs) or len(kwargs) != len(ids):
        raise RowError("kwargs", f"expected a list of {len(ids)} objects (one per instruction id)")
    built = []
    for i, (name, params) in enumerate(zip(ids, kwargs, strict=True)):
        if params is not None and not _is_map(params):
            raise RowError(f"kwargs[{i}]", f"expected an object, got {_kind(params)}")
        if not isinstance(name, str):
            raise RowError(f"instruction_id_list[{i}]", f"expected an id string, got {_kind(name)}")
        try:
            built.append(cache.build(name, params, None))
        except UnknownConstraintError as exc:
            raise RowError(f"instruction_id_list[{i}]", str(exc)) from None
        except ConstraintError as exc:
            raise RowError(f"kwargs[{i}]", str(exc)) from None
    return built


def prompt_text(value: Any) -> str | None:
    """A prompt's text (a string, or a conversation's last message), or None for none or one without text."""
    if value is None:
        return None
    try:
        return completion_text(value, "prompt")
    except RowError:
        return None


def completion_text(value: Any, field: str = "completion") -> str:
    """The text of a completion: a string, a chat message, or the last message of a conversation.

    A message's ``content`` is a string or a list of text parts (``{"type": "text", "text": ...}``;
    parts of other types, such as images, are skipped).  Anything else is a :class:`RowError` naming
    the exact field (``completion[-1].content[1].text``) and what it got.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        if not value:
            raise RowError(field, "expected a string or a list of chat messages, got an empty list")
        value, field = value[-1], f"{field}[-1]"
    if not isinstance(value, Mapping):
        raise RowError(field, f"expected a string or a chat message object, got {_kind(value)}")
    content = value.get("content")
    where = f"{field}.content"
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence) or isinstance(content, bytes | bytearray):
        raise RowError(where, f"expected a string or a list of text parts, got {_kind(content)}")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, Mapping):
            raise RowError(f"{where}[{i}]", f'expected a part like {{"type": "text", "text": ...}}, got {_kind(part)}')
        if part.get("type", "text") != "text":
            continue
        text = part.get("text")
        if not isinstance(text, str):
            raise RowError(f"{where}[{i}].text", f"expected a string, got {_kind(text)}")
        texts.append(text)
    return "".join(texts)


def _kind(value: Any) -> str:
    """A value's JSON kind for error messages (``null``, ``list``, ``number 5``), never echoed whole."""
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return f"{type(value).__name__} {short_repr(value)}"
    if isinstance(value, str):
        return f"string {short_repr(value)}"
    return type(value).__name__
