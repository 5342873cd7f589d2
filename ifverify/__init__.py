"""ifverify: instruction-following rewards from the constraints inside an instruction.

Importing the package does no work: the registry, the checkers and every model load on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Reward": "ifverify.rewards.reward",
    "default_registry": "ifverify.constraints.registry",
    "build": "ifverify.constraints.registry",
    "Result": "ifverify.constraints.base",
    "HardConstraint": "ifverify.constraints.base",
    "SoftConstraint": "ifverify.constraints.base",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ifverify' has no attribute {name!r}")
