"""Labelled (constraint text, response) pairs for the soft-constraint classifier: reading, splitting, extending.

Rules, exactly:

* **Data.** JSONL, one object a line with ``constraint_text`` (str), ``response`` (str) and ``label``
  (``0``/``1``, ``true``/``false``, or ``0.0``/``1.0``).  Optional: ``seed_id`` (the group a pair belongs to: the
  pairs of one task), ``kind`` ("hard"/"soft"), ``constraint_id``, ``constraint`` (the native spec), ``context``
  (the task's other constraints, as specs) and ``prompt`` (the instruction the response answers), as
  ``ifverify data pseudo-label`` and ``import-pairs`` write them.
  Other fields are ignored and blank lines skipped.  A bad line is an error, not a skip: :class:`DataError` names
  every bad line (the first 10 in the message) with its field, because a silently thinned training set is worse
  than a stop.
* **Split.** A pair goes to the held-out set when ``sha256(f"{seed}\\0{key}")`` read as a fraction is below
  ``eval_fraction``, where ``key`` is the pair's ``seed_id`` when it has one (so the positive and the negative of
  one task never straddle the split), else ``constraint_text\\0response``.  Stable across runs and machines.
* **Checker labels.** :func:`checker_labels` replaces the pseudo-label of each hard pair by its checker's strict
  verdict: exact supervision that the paper does not use.
* **Extra pairs.** :func:`extend_pairs` adds, deterministically from ``seed``:
  *context positives*: a response made with a soft constraint among the task's other constraints satisfies it
  (the same self-supervised assumption as the pseudo-label, applied to c_1..c_{k-1});
  *shuffle negatives*: a response paired with another task's soft constraint is labelled 0, which teaches the
  classifier to read the constraint instead of scoring the response alone.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Training or evaluation data that cannot be used; the message names the lines and fields."""


@dataclass(frozen=True)
class LabelledPair:
    line: int
    constraint_text: str
    response: str
    label: int
    group: str | None = None
    kind: str | None = None
    constraint_id: str | None = None
    spec: Mapping[str, Any] | None = None
    context: tuple[str, ...] = ()
    prompt: str | None = None

    @property
    def split_key(self) -> str:
        return self.group if self.group is not None else f"{self.constraint_text}\0{self.response}"


def _label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    return None


def _soft_context(row: Mapping[str, Any]) -> tuple[str, ...]:
    context = row.get("context")
    if not isinstance(context, list):
        return ()
    return tuple(spec["text"] for spec in context
                 if isinstance(spec, dict) and isinstance(spec.get("text"), str) and spec["text"].strip())


def _parse(number: int, raw: bytes) -> LabelledPair | str:
    try:
        row = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return f"line {number}: (encoding): not valid UTF-8 ({exc.reason} at byte {exc.start})"
    except (ValueError, RecursionError) as exc:
        return f"line {number}: (json): not valid JSON ({str(exc)[:80]})"
    if not isinstance(row, dict):
        return f"line {number}: (json): expected a JSON object, got {type(row).__name__}"
    bad = [name for name in ("constraint_text", "response") if not isinstance(row.get(name), str)]
    if bad:
        return f"line {number}: {bad[0]}: missing or not a string"
    label = _label(row.get("label"))
    if label is None:
        return f"line {number}: label: expected 0/1 or true/false, got {row.get('label')!r:.40}"
    group = row.get("seed_id")
    kind = row.get("kind")
    cid = row.get("constraint_id")
    spec = row.get("constraint")
    return LabelledPair(number, row["constraint_text"], row["response"], label,
                        group=str(group) if isinstance(group, str | int) else None,
                        kind=kind if kind in ("hard", "soft") else None,
                        constraint_id=cid if isinstance(cid, str) else None,
                        spec=spec if isinstance(spec, dict) else None, context=_soft_context(row),
                        prompt=row["prompt"] if isinstance(row.get("prompt"), str) else None)


def read_pairs(path: str | Path) -> list[LabelledPair]:
    """The labelled pairs of a JSONL file, or of the paper's parquet layout (imported on the fly with
    :mod:`ifverify.data.paper_pairs`); raises :class:`DataError` listing every bad line."""
    if Path(path).suffix.lower() == ".parquet":
        return _paper_pairs(path)
    pairs: list[LabelledPair] = []
    problems: list[str] = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            parsed = _parse(number, raw)
            if isinstance(parsed, str):
                problems.append(parsed)
            else:
                pairs.append(parsed)
    if problems:
        more = [f"and {len(problems) - 10} more"] if len(problems) > 10 else []
        raise DataError(f"{path}: {len(problems)} bad line(s): " + "; ".join(problems[:10] + more))
    if not pairs:
        raise DataError(f"{path}: no labelled pairs")
    return pairs


def data_digest(path: str | Path) -> str:
    """sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fraction(seed: int, key: str) -> float:
    return int.from_bytes(hashlib.sha256(f"{seed}\0{key}".encode()).digest()[:8], "big") / 2.0**64


def split_pairs(pairs: Sequence[LabelledPair], eval_fraction: float,
                seed: int) -> tuple[list[LabelledPair], list[LabelledPair]]:
    """(train, held-out) by the hash rule in the module docstring; input order is kept within each."""
    train_part: list[LabelledPair] = []
    held_out: list[LabelledPair] = []
    for pair in pairs:
        (held_out if _fraction(seed, pair.split_key) < eval_fraction else train_part).append(pair)
    return train_part, held_out


def checker_labels(pairs: Sequence[LabelledPair]) -> tuple[list[LabelledPair], int]:
    """Hard pairs relabelled with their checker's strict verdict; (pairs, number of labels changed).

    A hard pair without a buildable ``constraint`` spec keeps its label.
    """
    from ifverify.rewards.rows import ConstraintCache, constraints_of
    from ifverify.rewards.scoring import strict_verdict

    cache = ConstraintCache()
    out: list[LabelledPair] = []
    changed = 0
    for pair in pairs:
        if pair.kind == "hard" and pair.spec is not None:
            try:
                (constraint,) = constraints_of({"constraints": [dict(pair.spec)]}, cache)
                verdict = int(bool(strict_verdict(constraint, pair.response)))
            except Exception:  # an unbuildable spec keeps the pseudo-label
                verdict = pair.label
            changed += verdict != pair.label
            pair = replace(pair, label=verdict)
        out.append(pair)
    return out, changed


def extend_pairs(pairs: Sequence[LabelledPair], *, seed: int, shuffle_negatives: int = 1,
                 context_positives: bool = True) -> list[LabelledPair]:
    """``pairs`` plus the context positives and shuffle negatives of the module docstring.

    Shuffle negatives: for each soft positive, ``shuffle_negatives`` soft constraint texts of other groups
    (distinct, never the pair's own text or one of its context texts), drawn with ``random.Random(seed)``.
    New pairs get line 0 and the group of the pair they came from.
    """
    rng = random.Random(seed)
    out = list(pairs)
    seen = {(p.constraint_text, p.response) for p in pairs}
    if context_positives:
        for pair in pairs:
            for text in pair.context:
                if (text, pair.response) not in seen:
                    seen.add((text, pair.response))
                    out.append(LabelledPair(0, text, pair.response, 1, group=pair.group, kind="soft",
                                            prompt=pair.prompt))
    soft_texts = sorted({p.constraint_text for p in pairs if p.kind == "soft"})
    by_text_groups: dict[str, set[str | None]] = {}
    for p in pairs:
        if p.kind == "soft":
            by_text_groups.setdefault(p.constraint_text, set()).add(p.group)
    if shuffle_negatives and len(soft_texts) > 1:
        for pair in pairs:
            if pair.kind != "soft" or pair.label != 1:
                continue
            own = {pair.constraint_text, *pair.context}
            candidates = [t for t in rng.sample(soft_texts, min(len(soft_texts), 4 * shuffle_negatives + 4))
                          if t not in own and pair.group not in by_text_groups[t]]
            for text in candidates[:shuffle_negatives]:
                if (text, pair.response) not in seen:
                    seen.add((text, pair.response))
                    out.append(LabelledPair(0, text, pair.response, 0, group=pair.group, kind="soft",
                                            prompt=pair.prompt))
    return out


def _paper_pairs(path: str | Path) -> list[LabelledPair]:
    from ifverify.data.paper_pairs import import_file

    report = import_file(path)
    if report.errors:
        shown = "; ".join(str(e) for e in report.errors[:10])
        raise DataError(f"{path}: {len(report.errors)} bad row(s): {shown}")
    out = []
    for number, row in enumerate(report.pairs, start=1):
        parsed = _parse(number, json.dumps(row).encode())
        if isinstance(parsed, str):  # pragma: no cover - import_file only writes valid pairs
            raise DataError(f"{path}: {parsed}")
        out.append(parsed)
    if not out:
        raise DataError(f"{path}: no labelled pairs")
    return out


@dataclass
class PreparedPairs:
    """The pairs a trainer uses: the training split (extended), the held-out split, and counts."""

    all_pairs: list[LabelledPair]
    train: list[LabelledPair]
    held_out: list[LabelledPair]
    relabelled: int


def prepare_pairs(data_path: str | Path, *, labels: str = "pseudo", eval_fraction: float, seed: int,
                  shuffle_negatives: int, context_positives: bool,
                  kinds: tuple[str, ...] | None = None) -> PreparedPairs:
    """Read, optionally relabel (``labels="checker"``), split by task, keep the training ``kinds`` and add the extra
    pairs to the training split; a training split without both labels is a :class:`DataError`."""
    if labels not in ("pseudo", "checker"):
        raise ValueError(f"labels must be 'pseudo' or 'checker', got {labels!r}")
    pairs = read_pairs(data_path)
    relabelled = 0
    if labels == "checker":
        pairs, relabelled = checker_labels(pairs)
    train_rows, held_out = split_pairs(pairs, eval_fraction, seed)
    if not train_rows:
        raise DataError(f"{data_path}: all {len(pairs)} pairs fell in the held-out split; lower eval_fraction")
    if kinds is not None:
        train_rows = [p for p in train_rows if (p.kind or "soft") in kinds]
        if len({p.label for p in train_rows}) < 2:
            raise DataError(f"{data_path}: the training split needs positives and negatives of kind "
                            f"{', '.join(kinds)}")
    train_rows = extend_pairs(train_rows, seed=seed, shuffle_negatives=shuffle_negatives,
                              context_positives=context_positives)
    return PreparedPairs(pairs, train_rows, held_out, relabelled)
