"""Constraint declarations: one class per constraint type, one instance per (type, params) or (type, text).

A constraint *type* is declared once, as a subclass of :class:`HardConstraint` or :class:`SoftConstraint`
with class attributes (id, family, aliases, params JSON Schema, phrasing templates).  An *instance* is built
from params (hard) or a free-text constraint (soft); params are validated with ``jsonschema`` at
construction and never filled with random values.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jsonschema

HARD = "hard"
SOFT = "soft"


class ConstraintError(ValueError):
    """Base class of every configuration error about constraints (raised early, never per sample)."""


class MissingDataError(ConstraintError):
    """A known constraint type that cannot run here: it needs data or a package that is not installed.  The
    message names what to install.  ``ifverify check --skip-unknown`` leaves such constraints unscored and
    scores the rest of the row."""


class UnknownConstraintError(ConstraintError):
    """An id (or alias) that no registered constraint type answers to."""

    def __init__(self, constraint_id: str, suggestions: list[str]) -> None:
        self.constraint_id = constraint_id
        self.suggestions = suggestions
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown constraint id {short_repr(constraint_id)}.{hint}")


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters: an error message never echoes a 1 MB value whole."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class ParamsError(ConstraintError):
    """Bad params for a constraint: names the constraint, the param, the value received and what was expected."""

    def __init__(self, constraint_id: str, param: str, value: Any, expected: str) -> None:
        self.constraint_id = constraint_id
        self.param = param
        self.value = value
        self.expected = expected
        received = "nothing (missing)" if value is _MISSING else short_repr(value)
        super().__init__(
            f"{constraint_id}: param {param!r} received {received}, expected {expected}"
        )


_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()


@dataclass(frozen=True)
class Alias:
    """Another name for a constraint type, e.g. an IFEval instruction id.

    ``fixed`` params are pinned by the alias (``{"mode": "exclude"}``); ``rename`` maps the alias's param
    names onto the type's (``{"forbidden_words": "keywords"}``).
    """

    name: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    rename: Mapping[str, str] = field(default_factory=dict)

    def to_native(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The alias's params in the type's names, plus the pinned ones.  A pinned param, or a native
        name the alias renames, given by the caller is an error rather than silently overridden."""
        native: dict[str, Any] = {}
        renamed = set(self.rename.values()) - set(self.rename)
        for key, value in params.items():
            if key in self.fixed and value is not None and value != self.fixed[key]:
                raise ParamsError(self.name, key, value, f"nothing: the alias fixes it to {self.fixed[key]!r}")
            if key in renamed and value is not None:
                raise ParamsError(self.name, key, value,
                                  f"no such param (this alias calls it {self.param_name(key)!r})")
            native[self.rename.get(key, key)] = value
        native.update(self.fixed)
        return native

    def param_name(self, native_name: str) -> str:
        """The name the alias's user knows a native param by (for error messages)."""
        for alias_name, target in self.rename.items():
            if target == native_name:
                return alias_name
        return native_name


@dataclass(frozen=True)
class Result:
    """The outcome of one constraint on one response: a score in [0, 1], a verdict, and why."""

    id: str
    score: float
    verdict: bool | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "verdict": self.verdict, "reason": self.reason}


class Constraint:
    """Common part of hard and soft constraint types.  Subclasses declare the class attributes."""

    id: ClassVar[str]
    kind: ClassVar[str]
    family: ClassVar[str]
    description: ClassVar[str] = ""
    aliases: ClassVar[tuple[Alias, ...]] = ()
    params_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {}, "additionalProperties": False,
    }
    templates: ClassVar[tuple[str, ...]] = ()
    #: ids of types that may never be combined with this one in one instruction (declared on either side).
    conflicts: ClassVar[tuple[str, ...]] = ()

    params: dict[str, Any]
    text: str | None

    # -- construction --------------------------------------------------------------------------------
    def __init__(self, params: Mapping[str, Any] | None = None, *, alias: Alias | None = None) -> None:
        given = dict(params or {})
        native = alias.to_native(given) if alias is not None else given
        self.params = validate_params(type(self), native, alias)
        self.check_params(self.params, alias.name if alias is not None else self.id)
        self.alias = alias.name if alias is not None else None
        self.text = None
        self._prepare()

    @classmethod
    def check_params(cls, params: dict[str, Any], name: str) -> None:
        """Checks a JSON Schema cannot express (e.g. one param bounded by another); raise ParamsError."""

    def _prepare(self) -> None:
        """Derive cached state (compiled patterns) from ``self.params``; runs again after unpickling."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.params, self.text, self.alias))

    def __eq__(self, other: object) -> bool:
        return (type(self) is type(other) and self.params == other.params  # type: ignore[attr-defined]
                and self.text == other.text)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.id, _freeze(self.params), self.text))

    def __repr__(self) -> str:
        inner = repr(self.text) if self.text is not None else ", ".join(
            f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{type(self).__name__}({inner})"

    # -- declaration helpers -------------------------------------------------------------------------
    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        """Draw valid params from ``rng`` (a private generator; global random state is never used)."""
        raise NotImplementedError(f"{cls.id} does not sample params")

    @classmethod
    def sample_spec(cls, rng: random.Random) -> dict[str, Any]:
        """A random instance in the native JSON form, for generating instructions."""
        return {"id": cls.id, "params": cls.sample_params(rng)}

    def instruction(self) -> str:
        """The constraint phrased as an instruction, from the first template that fits the params."""
        if self.text is not None:
            return self.text
        return render_template(self.templates, self.params)

    def conflicts_with(self, other: Constraint) -> bool:
        """True when the two may not appear in one instruction: the same type twice, a clash of ids
        declared in ``conflicts`` on either side, or a params clash either side's ``clashes`` finds."""
        return (type(self) is type(other) or other.id in self.conflicts or self.id in other.conflicts
                or self.clashes(other) or other.clashes(self))

    def clashes(self, other: Constraint) -> bool:
        """A clash that depends on params (e.g. all lower case vs at least 2 capital words)."""
        return False

    def to_spec(self) -> dict[str, Any]:
        """The native JSON form: ``{"id": ..., "params": {...}}`` or ``{"id": ..., "text": ...}``."""
        if self.text is not None:
            return {"id": self.id, "text": self.text}
        return {"id": self.id, "params": dict(self.params)}


class HardConstraint(Constraint):
    """A constraint checked by deterministic code: the verdict is ``check(text)``, the score 0 or 1."""

    kind: ClassVar[str] = HARD

    def check(self, text: str) -> bool:
        raise NotImplementedError

    def evaluate(self, text: str) -> Result:
        ok = self.check(text)
        return Result(self.id, 1.0 if ok else 0.0, ok, self.explain(text, ok))

    def observe(self, text: str) -> str:
        """What the check measured in ``text`` (e.g. "412 words"), for reasons; empty when nothing."""
        return ""

    def explain(self, text: str, ok: bool) -> str:
        """A short human reason for a verdict: what was measured, and the instruction when it failed."""
        seen = self.observe(text)
        if ok:
            return f"ok ({seen})" if seen else "ok"
        return f"{seen}; expected: {self.instruction()}" if seen else f"expected: {self.instruction()}"


class SoftConstraint(Constraint):
    """A constraint judged by a learned classifier, conditioned on its free-text phrasing.

    A soft type declares phrasing ``templates`` with ``{slot}`` placeholders and the values each slot
    may take in ``slots``; :meth:`sample_text` fills them.  An instance is (type, text).
    """

    kind: ClassVar[str] = SOFT
    #: slot name -> the values it may take, for the templates
    slots: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def sample_params(cls, rng: random.Random) -> dict[str, Any]:
        return {}

    @classmethod
    def sample_text(cls, rng: random.Random) -> str:
        """A natural constraint text: a template with every slot filled from ``slots``."""
        template = rng.choice(cls.templates)
        return template.format_map({name: rng.choice(values) for name, values in sorted(cls.slots.items())})

    @classmethod
    def sample_spec(cls, rng: random.Random) -> dict[str, Any]:
        return {"id": cls.id, "text": cls.sample_text(rng)}

    def __init__(self, params: Mapping[str, Any] | None = None, *, text: str | None = None,
                 alias: Alias | None = None) -> None:
        super().__init__(params, alias=alias)
        if text is None or not isinstance(text, str) or not text.strip():
            raise ParamsError(self.id, "text", _MISSING if text is None else text,
                              "a non-empty constraint text")
        self.text = text


def _rebuild(cls: type[Constraint], params: dict[str, Any], text: str | None,
             alias: str | None) -> Constraint:
    obj = cls.__new__(cls)
    obj.params, obj.text, obj.alias = params, text, alias
    obj._prepare()
    return obj


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


# -- params validation ----------------------------------------------------------------------------------
_VALIDATORS: dict[type[Constraint], jsonschema.protocols.Validator] = {}


def _validator(cls: type[Constraint]) -> jsonschema.protocols.Validator:
    """The compiled validator of a type's params schema, built once per type."""
    validator = _VALIDATORS.get(cls)
    if validator is None:
        validator_cls = jsonschema.validators.validator_for(cls.params_schema)
        validator_cls.check_schema(cls.params_schema)
        validator = _VALIDATORS[cls] = validator_cls(cls.params_schema)
    return validator


def validate_params(cls: type[Constraint], params: dict[str, Any], alias: Alias | None) -> dict[str, Any]:
    """Validate ``params`` against ``cls.params_schema``; fill declared defaults; never invent values.

    Floats that are whole numbers are accepted for integer params (IFEval data round-tripped through
    parquet carries ``3.0`` for ``3``).  ``None`` values count as absent.
    """
    props = cls.params_schema.get("properties", {})
    clean: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if (isinstance(value, float) and value.is_integer()
                and props.get(key, {}).get("type") == "integer"):
            value = int(value)
        clean[key] = value
    for key, sub in props.items():
        if key not in clean and "default" in sub:
            clean[key] = sub["default"]
    if _split_valid(cls, clean):
        return clean
    validator = _validator(cls)
    if validator.is_valid(clean):
        return clean
    error = jsonschema.exceptions.best_match(validator.iter_errors(clean))
    raise _params_error(cls, error, clean, alias)


#: Keywords of an object schema whose verdict splits exactly into one verdict per property.
_SPLIT_KEYWORDS = frozenset({"type", "required", "properties", "additionalProperties", "description", "title",
                             "$schema", "$comment"})
#: The scalar types whose per-property verdicts are memoised (``type`` is in the key: ``1 == 1.0 == True``).
_MEMO_TYPES = (str, int, float, bool)
_MEMO_LIMIT = 65536
#: Strings longer than this are validated but not memoised, so the memo holds at most ~16 MB of text.
_MEMO_MAX_CHARS = 256
_SPLITS: dict[type[Constraint], tuple[frozenset[str], dict[str, jsonschema.protocols.Validator]] | None] = {}
_VALUE_VERDICTS: dict[tuple[Any, ...], bool] = {}


def _split(cls: type[Constraint]) -> tuple[frozenset[str], dict[str, jsonschema.protocols.Validator]] | None:
    """``(required, property validators)`` when the type's schema is a closed object schema, else None.

    For ``{"type": "object", "required": R, "properties": P, "additionalProperties": false}`` (plus
    annotations), JSON Schema's verdict on a mapping is exactly: every name in R present, no name outside
    P, and each value valid against its property's schema.  Property schemas holding a ``$ref`` are not
    split (a reference resolves against the whole schema).
    """
    if cls in _SPLITS:
        return _SPLITS[cls]
    schema = cls.params_schema
    props = schema.get("properties", {})
    plan = None
    if (schema.get("type") == "object" and schema.get("additionalProperties") is False
            and _SPLIT_KEYWORDS.issuperset(schema) and isinstance(props, dict)
            and not any("$ref" in json.dumps(sub) for sub in props.values())):
        validator_cls = type(_validator(cls))
        plan = frozenset(schema.get("required", ())), {key: validator_cls(sub) for key, sub in props.items()}
    _SPLITS[cls] = plan
    return plan


def _split_valid(cls: type[Constraint], params: dict[str, Any]) -> bool:
    """True when jsonschema accepts ``params``, decided property by property (see :func:`_split`).

    Each property's verdict comes from jsonschema on that property's schema, and verdicts on scalar
    values are memoised per (type, param, value type, value): the same few values recur across a
    dataset's constraints.  False means "not shown valid": the caller asks jsonschema about the whole.
    """
    plan = _split(cls)
    if plan is None:
        return False
    required, validators = plan
    if not required.issubset(params) or not validators.keys() >= params.keys():
        return False
    for key, value in params.items():
        if type(value) not in _MEMO_TYPES:
            if not validators[key].is_valid(value):
                return False
            continue
        if type(value) is str and len(value) > _MEMO_MAX_CHARS:  # large values are rare: not kept
            if not validators[key].is_valid(value):
                return False
            continue
        memo_key = (cls, key, type(value), value)
        verdict = _VALUE_VERDICTS.get(memo_key)
        if verdict is None:
            verdict = validators[key].is_valid(value)
            if len(_VALUE_VERDICTS) >= _MEMO_LIMIT:
                _VALUE_VERDICTS.clear()
            _VALUE_VERDICTS[memo_key] = verdict
        if not verdict:
            return False
    return True


def clear_validation_memo() -> None:
    """Forget the memoised per-property verdicts (benchmarks use this to time validation from cold)."""
    _VALUE_VERDICTS.clear()


def _params_error(cls: type[Constraint], error: jsonschema.ValidationError, params: dict[str, Any],
                  alias: Alias | None) -> ParamsError:
    name = alias.name if alias is not None else cls.id
    rename = alias.param_name if alias is not None else (lambda s: s)
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        sub = cls.params_schema.get("properties", {}).get(missing, {})
        return ParamsError(name, rename(missing), _MISSING, describe_schema(sub))
    if error.validator == "additionalProperties":
        props = cls.params_schema.get("properties", {})
        extra = sorted(set(error.instance) - set(props))
        fixed = alias.fixed if alias is not None else {}
        allowed = ", ".join(rename(p) for p in sorted(props) if p not in fixed) or "none"
        return ParamsError(name, rename(extra[0]), error.instance[extra[0]], f"no such param (allowed: {allowed})")
    path = [str(p) for p in error.absolute_path]
    param = rename(path[0]) if path else "(params)"
    if len(path) > 1:
        param += "".join(f"[{p}]" for p in path[1:])
    sub = error.schema if isinstance(error.schema, dict) else {}
    return ParamsError(name, param, error.instance, describe_schema(sub))


def describe_schema(schema: Mapping[str, Any]) -> str:
    """A short English phrase for what a JSON Schema accepts, for error messages."""
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return f"exactly {schema['const']!r}"
    kind = schema.get("type", "a value")
    parts = [f"{'an' if str(kind)[0] in 'aeiou' else 'a'} {kind}" if isinstance(kind, str) else str(kind)]
    for key, word in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">")):
        if key in schema:
            parts.append(f"{word} {schema[key]}")
    if "minLength" in schema:
        parts.append(f"of at least {schema['minLength']} character(s)")
    if "maxLength" in schema:
        parts.append(f"of at most {schema['maxLength']} character(s)")
    if "minItems" in schema:
        parts.append(f"with at least {schema['minItems']} item(s)")
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']!r}")
    return " ".join(parts)


class _Slots(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def render_template(templates: tuple[str, ...], params: Mapping[str, Any]) -> str:
    """Fill the first template whose slots are all present in ``params``; lists are joined with commas."""
    values = _Slots({k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in params.items()})
    for template in templates:
        try:
            return template.format_map(values)
        except KeyError:
            continue
    return templates[0] if templates else ""
