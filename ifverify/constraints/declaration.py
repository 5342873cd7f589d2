"""What makes a class a well-formed constraint type: checked before it reaches a registry.

Apart from :mod:`ifverify.constraints.registry` so that the plugin loader can validate declarations
without importing the registry (which imports the loader to build the default registry).
"""

from __future__ import annotations

from typing import Any

from ifverify.constraints.base import HARD, SOFT, Alias, Constraint, ConstraintError

__all__ = ["RegistrationError", "check_declaration"]


class RegistrationError(ConstraintError):
    """A constraint type that cannot be registered (bad declaration, id clash)."""


def check_declaration(cls: Any) -> None:
    """Reject a malformed constraint type before it reaches the registry."""
    if not (isinstance(cls, type) and issubclass(cls, Constraint)):
        raise RegistrationError(f"{cls!r} is not a Constraint subclass")
    for attr in ("id", "kind", "family"):
        if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
            raise RegistrationError(f"{cls.__qualname__}: class attribute {attr!r} must be a non-empty string")
    if cls.kind not in (HARD, SOFT):
        raise RegistrationError(f"{cls.id}: kind must be 'hard' or 'soft', got {cls.kind!r}")
    if "." not in cls.id or cls.id.startswith(".") or cls.id.endswith("."):
        raise RegistrationError(f"{cls.id}: ids look like 'family.name'")
    if not all(isinstance(a, Alias) for a in cls.aliases):
        raise RegistrationError(f"{cls.id}: aliases must be Alias objects")
    if not isinstance(cls.params_schema, dict) or cls.params_schema.get("type") != "object":
        raise RegistrationError(f"{cls.id}: params_schema must be a JSON Schema of type 'object'")
