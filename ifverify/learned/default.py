"""The packaged soft verifier: ``Reward(classifier="default")``, ``--classifier default``.

It is a :class:`~ifverify.learned.feature_verifier.FeatureVerifier` over the packaged all-MiniLM-L6-v2
(``ifverify/learned/default_model/ifverify.json``, a few kilobytes; the encoder is read from its package), built
from the paper's released pairs by the command in ``docs/soft-verifier.md``:

    ifverify rm train third_party/verl-if/train.parquet --model-type features --out ifverify/learned/default_model

Its ``ifverify.json`` records the training settings, the loss history, the fitted temperature and the validation
metrics; a test checks that the packaged model reproduces them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ifverify.learned.feature_verifier import METADATA_FILE

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"
BUILD_COMMAND = ("ifverify rm train third_party/verl-if/train.parquet --model-type features "
                 "--out ifverify/learned/default_model")


def default_model_dir() -> Path:
    """The folder of the packaged soft verifier; a missing one is an error that says how to build it."""
    if not (DEFAULT_MODEL_DIR / METADATA_FILE).is_file():
        raise FileNotFoundError(f"the packaged soft verifier is missing from {DEFAULT_MODEL_DIR} (a broken install?); "
                                f"reinstall ifverify, or build it from a clone with: {BUILD_COMMAND}")
    return DEFAULT_MODEL_DIR


def default_classifier() -> Any:
    """A new instance of the packaged soft verifier (``load_scorer("default")`` shares one per process)."""
    from ifverify.learned.feature_verifier import FeatureVerifier

    return FeatureVerifier.load(default_model_dir())
