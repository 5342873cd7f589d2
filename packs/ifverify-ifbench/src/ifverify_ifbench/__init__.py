"""IFBench's 58 instructions as an ifverify compatibility pack.

ifverify finds this package through the ``ifverify.constraints`` entry point named ``ifbench`` and calls
:func:`pack`: the pack adds 58 hard constraint types with native ids ``ifbench.*`` and serves IFBench's
own ids (``count:numbers``, ``format:emoji``, ...) as aliases under the prefixes it declares.
"""

from __future__ import annotations

from ifverify.constraints.base import Constraint
from ifverify.constraints.plugins import CompatibilityPack
from ifverify_ifbench import count, custom, formats, ratio, repeat, sentence, words
from ifverify_ifbench._base import IFBENCH, NATIVE, IFBenchConstraint

__all__ = ["ALIAS_PREFIXES", "IFBENCH", "NATIVE", "IFBenchConstraint", "constraint_types", "pack"]

#: The IFBench id prefixes this pack serves.
ALIAS_PREFIXES = ("count:", "custom:", "format:", "ratio:", "repeat:", "sentence:", "words:")


def constraint_types() -> tuple[type[Constraint], ...]:
    """The 58 types, family by family."""
    return (*count.TYPES, *custom.TYPES, *formats.TYPES, *ratio.TYPES, *repeat.TYPES, *sentence.TYPES, *words.TYPES)


def pack() -> CompatibilityPack:
    """The entry point: the types and the alias prefixes they serve."""
    return CompatibilityPack(constraint_types(), ALIAS_PREFIXES)
