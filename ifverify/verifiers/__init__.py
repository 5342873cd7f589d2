"""Deterministic checkers for the hard constraint types, one module per family, plus text utilities."""

from __future__ import annotations

from ifverify.constraints.base import HardConstraint

FAMILIES = ("keywords", "language", "length", "content", "format", "combination", "startend", "case",
            "punctuation")


def hard_types() -> list[type[HardConstraint]]:
    """The 23 built-in hard constraint types, family by family."""
    from importlib import import_module

    types: list[type[HardConstraint]] = []
    for family in FAMILIES:
        types.extend(import_module(f"ifverify.verifiers.{family}").TYPES)
    return types


def warm_up() -> None:
    """Load the shared resources now (the Punkt parameters and tokenizer patterns, the language profiles).

    They load lazily on first use anyway; calling this first lets worker processes forked afterwards
    share them instead of each loading its own copy.
    """
    from ifverify.verifiers import langid, text

    text.warm_up()
    langid.warm_up()
