"""The features the default soft verifier reads from a (constraint, response[, prompt]) query.

Everything is conditioned on the constraint, and, when the prompt is known, on what the task asked *besides* the
constraint: a response that follows constraint c differs from one made without it by what c adds to the task, so
the task's own vocabulary and topics say nothing about c.  The *task* is the prompt with the constraint's text
removed (:func:`task_text`).

Embeddings are the packaged all-MiniLM-L6-v2's (mean-pooled, normalised), of the constraint and of the response's
and the task's *chunks*: sentences and lines merged up to ~300 characters (:func:`chunks`), at most 8 of a response
and 16 of a task.  A text's vector is the normalised mean of its chunk vectors.

* **semantic** (``c`` constraint, ``r``/``t`` response/task vectors, ``r_i``/``t_j`` their chunks):
  ``cos`` = c.r; ``mx`` = max_i c.r_i; with a task also ``dcos`` = c.r - c.t, ``res``/``resmx`` the same with c
  made orthogonal to t, ``dmx`` = max_i c.r_i - max_j c.t_j, ``rt`` = r.t, ``rtch``/``rtmin`` the mean/min over
  response chunks of their best task-chunk cosine, ``gapmx``/``gapmean`` the max/mean over response chunks of
  c.r_i minus that best task-chunk cosine, and ``ct``/``tmx`` = c.t and max_j c.t_j.
* **lexical**: the share of the constraint's content words (lower-case alphabetic words of 3+ letters, stop words
  removed) the response uses, exactly (``ov``) and by five-letter prefix (``so``), and their density among the
  response's content words (``de``); with a task, the same for the constraint's words the task does not use
  (``on``, ``sn``, ``dn``) and the share of such words (``novshare``).
* **length and prior**: ``ll`` = log(1 + response characters), ``lc`` = log(1 + constraint characters),
  ``nwords`` = log(1 + distinct constraint content words); the verifier adds the constraint vector's first
  principal components (learned from the training constraints): a prior per kind of constraint.

Every feature is a pure function of its inputs and the encoder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Features of the head used when the prompt is known, and of the head used without it, in vector order.
PROMPT_FEATURES = ("cos", "mx", "dcos", "res", "resmx", "dmx", "rt", "rtch", "rtmin", "gapmx", "gapmean", "ct",
                   "tmx", "ov", "so", "de", "on", "sn", "dn", "novshare", "ll", "lc", "nwords")
PLAIN_FEATURES = ("cos", "mx", "ov", "so", "de", "ll", "lc", "nwords")
CHUNK_CHARS = 300
RESPONSE_CHUNKS = 8
TASK_CHUNKS = 16
_WORD = re.compile(r"[a-z]+")
_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_SPACE = re.compile(r"\s+")
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


def chunks(text: str, limit: int, size: int = CHUNK_CHARS) -> list[str]:
    """The first ``limit`` chunks of ``text``: its sentences and lines, merged in order while a chunk stays within
    ``size`` characters (a longer sentence is a chunk of its own).  Only the first ``4 * limit * size`` characters
    are read, so the work is bounded on any text; a blank text is one empty chunk."""
    out: list[str] = []
    current = ""
    for part in _BREAK.split(text[:4 * limit * size]):
        part = part.strip()
        if not part:
            continue
        if current and len(current) + 1 + len(part) > size:
            out.append(current)
            if len(out) == limit:
                return out
            current = part
        else:
            current = f"{current} {part}" if current else part
    if current:
        out.append(current)
    return out[:limit] or [""]


def task_text(prompt: str, constraint: str) -> str:
    """The prompt without the constraint's text: removed where it occurs verbatim, else where it occurs ignoring
    case and runs of white space; a prompt that does not contain it is returned whole."""
    needle = constraint.strip()
    if not needle:
        return prompt
    if needle in prompt:
        return prompt.replace(needle, " ")
    flat_prompt, flat_needle = _SPACE.sub(" ", prompt).lower(), _SPACE.sub(" ", needle).lower()
    at = flat_prompt.find(flat_needle)
    if at < 0:
        return prompt
    flat = _SPACE.sub(" ", prompt)
    return flat[:at] + " " + flat[at + len(flat_needle):]


def lexical_features(constraint: str, response: str, task: str | None = None) -> dict[str, float]:
    """``ov``, ``so``, ``de`` and ``nwords``; with a task also ``on``, ``sn``, ``dn`` and ``novshare``."""
    wanted = set(content_words(constraint))
    used = content_words(response)
    present = set(used)
    stems = {w[:5] for w in present}
    out = {"ov": 0.0, "so": 0.0, "de": 0.0, "nwords": math.log1p(len(wanted))}
    if wanted:
        wanted_stems = {w[:5] for w in wanted}
        out["ov"] = len(wanted & present) / len(wanted)
        out["so"] = len(wanted_stems & stems) / len(wanted_stems)
        out["de"] = 10.0 * sum(1 for w in used if w in wanted) / len(used) if used else 0.0
    if task is not None:
        task_words = set(content_words(task))
        novel = wanted - task_words
        novel_stems = {w[:5] for w in wanted} - {w[:5] for w in task_words}
        out["on"] = len(novel & present) / len(novel) if novel else 0.0
        out["sn"] = len(novel_stems & stems) / len(novel_stems) if novel_stems else 0.0
        out["dn"] = 10.0 * sum(1 for w in used if w in novel) / len(used) if used else 0.0
        out["novshare"] = len(novel) / len(wanted) if wanted else 0.0
    return out


def _unit(vector: Any) -> Any:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def semantic_features(c: Any, response_chunks: Any, task_chunks: Any | None) -> dict[str, float]:
    """The semantic features of the module docstring from the constraint vector and the chunk-vector matrices."""
    r = _unit(response_chunks.mean(0))
    to_c = response_chunks @ c
    out = {"cos": float(c @ r), "mx": float(to_c.max())}
    if task_chunks is None:
        return out
    t = _unit(task_chunks.mean(0))
    ct = float(c @ t)
    c_res = _unit(c - ct * t)
    task_to_c = float((task_chunks @ c).max())
    best = (response_chunks @ task_chunks.T).max(1)
    gap = to_c - best
    out.update(dcos=out["cos"] - ct, res=float(c_res @ r), resmx=float((response_chunks @ c_res).max()),
               dmx=out["mx"] - task_to_c, rt=float(r @ t), rtch=float(best.mean()), rtmin=float(best.min()),
               gapmx=float(gap.max()), gapmean=float(gap.mean()), ct=ct, tmx=task_to_c)
    return out


def query_features(constraint: str, response: str, task: str | None, c: Any, response_chunks: Any,
                   task_chunks: Any | None) -> dict[str, float]:
    """Every feature of one query, by name (the task ones only when ``task`` is given)."""
    out = semantic_features(c, response_chunks, task_chunks if task is not None else None)
    out.update(lexical_features(constraint, response, task))
    out["ll"] = math.log1p(len(response))
    out["lc"] = math.log1p(len(constraint))
    return out


def embed(model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int, batch_size: int = 32) -> Any:
    """Normalised mean-pooled embeddings (a float32 numpy array, one row per text) in input order.

    Texts are cut to ``max_length * 32`` characters before tokenizing (the tokens past ``max_length`` are dropped
    anyway), lone surrogates (which the tokenizer refuses) become "?", and they are scored in length-sorted batches;
    a text's row does not depend on its batch mates beyond rounding.
    """
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            batch = tokenizer([encodable(texts[i][:max_length * 32]) for i in chunk], truncation=True,
                              max_length=max_length, padding=True, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[chunk] = torch.nn.functional.normalize(pooled.float(), dim=-1).numpy()
    return out


def encodable(text: str) -> str:
    """The text with lone surrogates replaced by "?" (they cannot be encoded, and the tokenizer raises on them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text
