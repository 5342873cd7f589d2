"""Which packages each backend's run needs, how to install them, and the one-line error when they are missing.

The main environment (``bash scripts/setup.sh``) runs the trl backend; OpenRLHF and verl pin other versions of
transformers, so each lives in an environment of its own (docs/backends/).  The hints here say the same as
those pages; a test keeps them in agreement.
"""

from __future__ import annotations

import importlib.util

OPENRLHF_MODULE = "openrlhf.cli.train_ppo_ray"
VERL_MODULE = "verl.trainer.main_ppo"

#: How to install each backend, as docs/backends/<backend>.md says.
INSTALL = {
    "trl": 'in the main environment: pip install -e ".[soft,trl]" (bash scripts/setup.sh does it)',
    "openrlhf": 'OpenRLHF runs in an environment of its own, on a CUDA machine: pip install -e ".[openrlhf]" '
                "there (docs/backends/openrlhf.md)",
    "verl": 'verl runs in an environment of its own, on a CUDA machine: pip install -e ".[verl]" there '
            "(docs/backends/verl.md)",
}
#: What each backend's run imports: its entry module first, then the packages it cannot start without.
RUNTIME = {"trl": ("trl", "datasets"), "openrlhf": (OPENRLHF_MODULE, "ray", "deepspeed"),
           "verl": (VERL_MODULE, "ray", "hydra")}


class BackendUnavailable(RuntimeError):
    """The backend's packages are not installed here; the message names them and the environment to use."""


def require_backend(backend: str) -> None:
    """Fail, in one line naming what is missing and the environment to install it in, unless every module of
    ``RUNTIME[backend]`` can be found (found, not imported: a module's parent packages are imported)."""
    missing = []
    for module in RUNTIME[backend]:
        try:
            found = importlib.util.find_spec(module) is not None
        except Exception:  # a parent package failed to import (e.g. a missing dependency)
            found = False
        if not found:
            missing.append(module)
    if missing:
        raise BackendUnavailable(f"the {backend} backend is not installed in this environment (missing: "
                                 f"{', '.join(missing)}); {INSTALL[backend]}")
