"""The 25 soft constraint types: CFBench's constraint categories, one module per CFBench group.

A soft type is judged by the learned classifier, conditioned on its free-text phrasing; each type here
declares a precise description of its category and phrasing templates with slots, from which
:meth:`~ifverify.constraints.base.SoftConstraint.sample_text` draws natural constraint texts for data.
The group modules are imported only when :func:`soft_types` is called.
"""

from __future__ import annotations

from importlib import import_module

from ifverify.constraints.base import SoftConstraint

#: CFBench's groups, in CFBench's order; each names a module of this package and the types' ``family``.
GROUPS = ("content", "numerical", "style", "format", "linguistic", "situation", "other")


def soft_types() -> list[type[SoftConstraint]]:
    """The 25 built-in soft constraint types, group by group, in a stable order."""
    types: list[type[SoftConstraint]] = []
    for group in GROUPS:
        types.extend(import_module(f"ifverify.constraints.soft.{group}").TYPES)
    return types


__all__ = ["GROUPS", "soft_types"]
