"""The features the default soft verifier reads from a (constraint text, response) pair.

Two views of whether the response does what the constraint asks, both conditioned on the constraint:

* **semantic**: the cosine between the packaged all-MiniLM-L6-v2 sentence embeddings (mean-pooled, normalised)
  of the constraint text and of the response's first ``max_length`` tokens: the encoder was trained for exactly
  this similarity;
* **lexical**: how many of the constraint's content words (lower-case alphabetic words of 3+ letters, stop words
  removed) the response uses, exactly and by their first five letters (humour / humorous), and how dense they are
  in the response.

Plus the response's length (``log(1 + characters)``), which the length-only control measures on its own, and the
products of the semantic and lexical views.  Every feature is a pure function of its inputs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

FEATURE_NAMES = ("cosine", "overlap", "stem_overlap", "density", "log_length", "cosine_x_overlap",
                 "cosine_x_stem_overlap")
_WORD = re.compile(r"[a-z]+")
_STOP = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each even every few for from further had has have having he her here
hers herself him himself his how however i if in into is it its itself just may me might more most must my myself
no nor not now of off on once only or other our ours ourselves out over own per rather same shall she should so
some such than that the their theirs them themselves then there these they this those through thus to too under
until up upon us use used using very via was we were what when where whether which while who whom why will with
within without would you your yours yourself yourselves response responses answer answers ensure make include
includes including provide write written task given output text must should please
""".split())


def content_words(text: str) -> list[str]:
    """The text's lower-case alphabetic words of 3+ letters that are not stop words, in order."""
    return [w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP]


def lexical_features(constraint: str, response: str) -> tuple[float, float, float]:
    """(overlap, stem overlap, density): the share of the constraint's distinct content words the response uses,
    the same by five-letter prefix, and the share of the response's content words that are the constraint's."""
    wanted = set(content_words(constraint))
    if not wanted:
        return 0.0, 0.0, 0.0
    used = content_words(response)
    present = set(used)
    stems = {w[:5] for w in present}
    overlap = len(wanted & present) / len(wanted)
    stem_overlap = len({w[:5] for w in wanted} & stems) / len({w[:5] for w in wanted})
    density = sum(1 for w in used if w in wanted) / len(used) if used else 0.0
    return overlap, stem_overlap, density


def pair_features(constraint: str, response: str, cosine: float) -> list[float]:
    """The feature vector (in :data:`FEATURE_NAMES` order) of one pair, given the embeddings' cosine."""
    overlap, stem_overlap, density = lexical_features(constraint, response)
    return [cosine, overlap, stem_overlap, density * 10.0, math.log1p(len(response)), cosine * overlap,
            cosine * stem_overlap]


def embed(model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int, batch_size: int = 32) -> Any:
    """Normalised mean-pooled embeddings (a float32 numpy array, one row per text) in input order.

    Texts are cut to ``max_length * 32`` characters before tokenizing (the tokens past ``max_length`` are dropped
    anyway) and scored in length-sorted batches; a text's row does not depend on its batch mates beyond rounding.
    """
    import numpy as np
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            batch = tokenizer([texts[i][:max_length * 32] for i in chunk], truncation=True, max_length=max_length,
                              padding=True, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[chunk] = torch.nn.functional.normalize(pooled.float(), dim=-1).numpy()
    return out
