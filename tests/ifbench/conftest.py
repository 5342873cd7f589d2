"""The IFBench pack's tests need the pack installed (``pip install -e packs/ifverify-ifbench``)."""

from __future__ import annotations

import pytest

from ifverify.constraints.registry import Registry

try:  # without the pack installed, these tests are not collected (the rest of the suite still runs)
    import ifverify_ifbench  # noqa: F401
except ImportError:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def ifbench_registry() -> Registry:
    from _ifbench_support import pack_registry

    return pack_registry()
