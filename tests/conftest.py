"""Shared fixtures: offline mode, and the IFEval reference data vendored in ``third_party/ifeval``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
IFEVAL_DIR = REPO / "third_party" / "ifeval"
#: Keys whose reference verdicts are random (IFEval swaps a non-letter target for a random letter).
RANDOM_IN_REFERENCE = {1122, 1129}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def ifeval_dir() -> Path:
    return IFEVAL_DIR


@pytest.fixture(scope="session")
def ifeval_rows(ifeval_dir: Path) -> list[dict[str, Any]]:
    """The 541 IFEval prompts joined with the GPT-4 responses by prompt text."""
    responses = {r["prompt"]: r["response"]
                 for r in read_jsonl(ifeval_dir / "input_response_data_gpt4_20231107_145030.jsonl")}
    return [{**row, "response": responses[row["prompt"]]} for row in read_jsonl(ifeval_dir / "input_data.jsonl")]


# -- backend environments ------------------------------------------------------------------------------
#: Marker of the tests that need a backend's own environment (its trainer package installed), by backend.
BACKEND_MARKERS = {"openrlhf": "openrlhf_env"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend-env", choices=sorted(BACKEND_MARKERS), default=None,
                     help="run the tests of this backend's own environment (see .ci/run); without it they are "
                          "deselected, since the main environment does not install that backend")


def pytest_configure(config: pytest.Config) -> None:
    for backend, marker in BACKEND_MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: needs the {backend} environment (pytest --backend-env "
                                           f"{backend}, in .venvs/{backend}, made by scripts/setup_{backend}_env.sh)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) the tests of backend environments other than ``--backend-env``."""
    chosen = config.getoption("--backend-env")
    other = {marker for backend, marker in BACKEND_MARKERS.items() if backend != chosen}
    deselected = [item for item in items if any(item.get_closest_marker(m) for m in other)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]
