"""What the TRL backend imports on first use, and the error that says how to install it."""

from __future__ import annotations

import importlib
from typing import Any

INSTALL_HINT = ('the TRL backend needs trl and datasets: in the main environment, pip install -e ".[soft,trl]" '
                "(trl==1.16.0)")


def require_module(module: str) -> Any:
    """Import ``module`` (trl, datasets or torch) or fail with the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({module} is not importable: {exc})") from exc
