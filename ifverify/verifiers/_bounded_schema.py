"""JSON Schema validation whose regular expressions run within a time budget.

``jsonschema`` evaluates ``pattern``, ``patternProperties`` and the property test behind
``additionalProperties`` with ``re.search``, which a catastrophic pattern such as ``^(a|aa)+$`` stalls
for minutes.  :func:`bounded_validator` builds the schema's validator class with those three keywords
re-implemented on :func:`ifverify.verifiers._regex.bounded_search` (same verdicts; a search over budget
raises :class:`~ifverify.verifiers._regex.PatternBudgetError`).  ``unevaluatedProperties`` also reads
``patternProperties`` through ``re``, so :func:`unbounded_keywords` lets the caller refuse that pairing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from ifverify.constraints.base import short_repr
from ifverify.verifiers._regex import bounded_search

#: A schema param larger than this (as JSON) is refused: schemas are configuration, not data.
SCHEMA_MAX_CHARS = 65536


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not bounded_search(patrn, instance):
        yield ValidationError(f"{short_repr(instance)} does not match {short_repr(patrn)}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if bounded_search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The instance's keys that neither ``properties`` nor any ``patternProperties`` regex covers
    (jsonschema searches the patterns joined by ``|``: the same as searching each in turn)."""
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [key for key in instance
            if key not in properties and not any(bounded_search(p, key) for p in patterns)]


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        names = ", ".join(short_repr(e) for e in sorted(extras)[:5]) + (", ..." if len(extras) > 5 else "")
        if "patternProperties" in schema:
            regexes = ", ".join(short_repr(p) for p in sorted(schema["patternProperties"]))
            verb = "does" if len(extras) == 1 else "do"
            yield ValidationError(f"{names} {verb} not match any of the regexes: {regexes}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(f"Additional properties are not allowed ({names} {verb} unexpected)")


def bounded_validator(schema: dict[str, Any]) -> Any:
    """A validator for ``schema`` (its own draft) whose regexes stop after the time budget."""
    base = jsonschema.validators.validator_for(schema)
    cls = jsonschema.validators.extend(base, {"pattern": _pattern, "patternProperties": _pattern_properties,
                                              "additionalProperties": _additional_properties})
    return cls(schema)


def unbounded_keywords(schema: Any) -> str | None:
    """Why ``schema`` cannot be validated in bounded time, or None: ``unevaluatedProperties`` beside
    ``patternProperties`` (jsonschema runs those regexes itself), or a schema over the size cap."""
    text = json.dumps(schema, default=str)
    if len(text) > SCHEMA_MAX_CHARS:
        return f"a schema of at most {SCHEMA_MAX_CHARS:,} characters as JSON (got {len(text):,})"
    if '"unevaluatedProperties"' in text and '"patternProperties"' in text:
        return "a schema without unevaluatedProperties beside patternProperties (their regexes cannot be bounded)"
    return None
