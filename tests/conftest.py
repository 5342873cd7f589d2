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
