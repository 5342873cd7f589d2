"""Import the paper's released pseudo-label pairs (arXiv 2510.14420) into ifverify's pair format.

The paper's layout, one row per task (parquet, or JSONL with the same fields):

* ``prompt``: the task with its five constraint sentences appended;
* ``constraint``: the five constraint texts, in order;
* ``instruction_id_list``: the five constraint ids (IFEval ids for hard constraints, the paper's own for soft);
* ``kwargs``: five IFEval-style kwargs objects (every key present, unused ones null, integers as floats);
* ``chosen``: the response made with all five constraints (o_5);
* ``rejected``: the response made without the last one (o_4).

Each row becomes two pairs for its last constraint c_5: ``(c_5, chosen)`` labelled 1 and ``(c_5, rejected)``
labelled 0, in the format ``ifverify data pseudo-label`` writes (``pair_id``, ``seed_id``, ``level``,
``constraint``, ``constraint_id``, ``kind``, ``constraint_text``, ``response``, ``label``) plus ``prompt`` and
``context`` (the other four constraints, as specs), so the imported pairs feed ``ifverify data validate-labels``
and ``ifverify rm train`` unchanged.

Rules:

* **Soft ids** map onto ifverify's soft types by :data:`SOFT_ID_MAP`; the constraint text is kept as written.
* **Hard ids** are IFEval ids, which the registry accepts as aliases; the pair's constraint is the native id
  with its params.  Kwargs are cleaned first: nulls dropped, integral floats made ints.  The pair's
  ``constraint_text`` is the paper's own sentence (what the policy saw).
* **Bad rows** give a :class:`~ifverify.data.jsonl.LineError` naming the row (1-based, in file order), the
  field and the value; the other rows are still imported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.constraints.base import ConstraintError, UnknownConstraintError
from ifverify.constraints.registry import Registry, default_registry
from ifverify.data.jsonl import LineError, read_jsonl

#: The paper's soft constraint ids and the ifverify soft type each one maps onto (see docs/fidelity.md).
SOFT_ID_MAP: dict[str, str] = {
    "situation:role_play": "soft.role",
    "situation:story_generation": "soft.form_style",
    "situation:suggestion": "soft.task",
    "soft_content:open_ended": "soft.semantic",
    "soft_content:language": "soft.pragmatic",
    "style:open_ended": "soft.tone",
}
FIELDS = ("prompt", "chosen", "rejected", "constraint", "instruction_id_list", "kwargs")
_SHOWN = 80


@dataclass
class ImportReport:
    """What an import produced: the pairs, the bad rows, and counts by kind."""

    rows: int = 0
    pairs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)

    def by_kind(self) -> dict[str, int]:
        out = {"hard": 0, "soft": 0}
        for pair in self.pairs[::2]:
            out[pair["kind"]] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported_rows": len(self.pairs) // 2, "pairs": len(self.pairs),
                "by_kind": self.by_kind(), "errors": [str(e) for e in self.errors]}


def clean_kwargs(kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """IFEval kwargs as the registry expects them: null values dropped, integral floats made ints."""
    out: dict[str, Any] = {}
    for key, value in (kwargs or {}).items():
        if value is None:
            continue
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        out[str(key)] = value
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _plain(value: Any) -> Any:
    """numpy arrays and scalars (from parquet) as plain Python lists and values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(row number, row or error) from a parquet or JSONL file; parquet needs pyarrow."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        yield from read_jsonl(path)
        return
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading parquet needs pyarrow: pip install pyarrow (or convert the file to JSONL)") \
            from None
    table = pq.read_table(path)
    missing = [name for name in FIELDS if name not in table.column_names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(FIELDS)}")
    for number, row in enumerate(table.to_pylist(), start=1):
        yield number, {key: _plain(value) for key, value in row.items()}


def _spec(cid: str, text: Any, kwargs: Any, registry: Registry, where: str) -> dict[str, Any]:
    """The native constraint spec for one of the paper's constraints; raises ValueError naming the problem."""
    if not isinstance(cid, str):
        raise ValueError(f"instruction_id_list{where}: expected a string, got {_show(cid)}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"constraint{where}: expected a non-empty string, got {_show(text)}")
    if cid in SOFT_ID_MAP:
        return {"id": SOFT_ID_MAP[cid], "text": text}
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise ValueError(f"kwargs{where}: expected an object or null, got {_show(kwargs)}")
    params = clean_kwargs(kwargs)
    try:
        built = registry.build(cid, params, None)
    except UnknownConstraintError as exc:
        raise ValueError(f"instruction_id_list{where}: {exc}") from None
    except ConstraintError as exc:
        raise ValueError(f"kwargs{where}: {exc}") from None
    if built.kind != "hard":
        raise ValueError(f"instruction_id_list{where}: {cid!r} is not a hard IFEval id or a paper soft id")
    return {"id": built.id, "params": dict(built.params)}


def _lists(raw: Mapping[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    ids, texts, kwargs = (_plain(raw.get(name)) for name in ("instruction_id_list", "constraint", "kwargs"))
    for name, value in (("instruction_id_list", ids), ("constraint", texts)):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{name}: expected a non-empty list, got {_show(value)}")
    if kwargs is None:
        kwargs = [None] * len(ids)
    if not isinstance(kwargs, list):
        raise ValueError(f"kwargs: expected a list, got {_show(kwargs)}")
    if not len(ids) == len(texts) == len(kwargs):
        raise ValueError(f"instruction_id_list: {len(ids)} ids, but {len(texts)} constraint texts and "
                         f"{len(kwargs)} kwargs")
    return ids, texts, kwargs


def row_pairs(number: int, raw: Mapping[str, Any], registry: Registry, stem: str) -> list[dict[str, Any]]:
    """The positive and negative pair of one row; raises ValueError (``field: problem``) for a bad row."""
    for name in ("prompt", "chosen", "rejected"):
        if not isinstance(raw.get(name), str):
            raise ValueError(f"{name}: expected a string, got {_show(raw.get(name))}")
    ids, texts, kwargs = _lists(raw)
    specs = [_spec(cid, text, kw, registry, f"[{i}]")
             for i, (cid, text, kw) in enumerate(zip(ids, texts, kwargs, strict=True))]
    last, level = specs[-1], len(specs)
    seed_id = f"{stem}-{number:05d}"
    common = {"seed_id": seed_id, "level": level, "constraint": last, "constraint_id": last["id"],
              "kind": "soft" if "text" in last else "hard", "constraint_text": texts[-1],
              "paper_id": ids[-1], "prompt": raw["prompt"], "context": specs[:-1]}
    return [{"pair_id": f"{seed_id}-L{level}-{tag}", **common, "response": raw[column], "label": label}
            for tag, column, label in (("pos", "chosen", 1), ("neg", "rejected", 0))]


def import_rows(rows: Iterable[tuple[int, dict[str, Any] | LineError]], *, stem: str = "paper",
                registry: Registry | None = None) -> ImportReport:
    """Pairs from numbered rows; a bad row becomes one LineError and the rest are imported."""
    registry = registry or default_registry()
    report = ImportReport()
    for number, raw in rows:
        report.rows += 1
        if isinstance(raw, LineError):
            report.errors.append(raw)
            continue
        try:
            report.pairs.extend(row_pairs(number, raw, registry, stem))
        except ValueError as exc:
            name, _, problem = str(exc).partition(": ")
            report.errors.append(LineError(number, name, problem))
    return report


def import_file(path: str | Path, *, registry: Registry | None = None) -> ImportReport:
    """Import a parquet or JSONL file of the paper's rows."""
    return import_rows(read_rows(path), stem=Path(path).stem, registry=registry)


def write_pairs(path: str | Path, pairs: Sequence[Mapping[str, Any]]) -> None:
    """One JSON object per line, UTF-8; written to a temporary name, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair, ensure_ascii=False) + "\n")
    tmp.replace(path)
