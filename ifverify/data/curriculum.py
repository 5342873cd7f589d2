"""The incremental curriculum: seed instructions, each with constraints c1..c5 cut into levels L1..L5.

For every seed instruction, :func:`build_curriculum` samples ``n_constraints`` mutually compatible
constraints, hard and soft mixed, and writes one row per level, where level k keeps the first k of
them.  Rows are in the native format that ``ifverify check`` and the Reward read::

    {"id": "seed-0001-L2", "seed_id": "seed-0001", "level": 2, "seed": "<seed>",
     "prompt": "<seed> <c1> <c2>", "constraints": [<spec c1>, <spec c2>]}

Sampling is private and deterministic: each seed instruction gets its own ``random.Random`` derived
from (``seed``, ``seed_id``), so the same seeds and ``seed`` give byte-identical output, and adding or
removing other seeds never changes an instruction's constraints.  Adding constraint *types* to the
registry (a plugin, new soft types) does change the samples.  This module does not import torch.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ifverify.constraints.base import HARD, SOFT, Constraint, ConstraintError
from ifverify.constraints.registry import Registry, default_registry
from ifverify.data.jsonl import LineError, read_jsonl_lines

REPEAT_PROMPT = "combination.repeat_prompt"

#: Hard types left out unless named in ``hard_ids``, and why.
DEFAULT_EXCLUDED_HARD: Mapping[str, str] = {
    REPEAT_PROMPT: "its param is the request itself, so the prompt would carry the seed twice; when named in "
                   "hard_ids it is built from the seed instruction (prompt_to_repeat = the bare seed)",
    "format.constrained_response": "the whole answer must be one of three fixed sentences, which no open-ended "
                                   "seed and no other constraint can coexist with",
    "language.response": "it asks for a non-English answer, beyond a small English policy such as SmolLM2-135M, "
                         "and contradicts the English keywords and phrases other types ask for",
}

#: Pairs of types that ``conflicts_with`` allows but that make a contradictory or degenerate instruction:
#: (type, types it may not be combined with, why).  Symmetric; ids that are not registered are inert.
#: "*" stands for every other hard type.
_INCOMPATIBLE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("format.json", ("format.title", "format.sections", "format.bullet_list", "format.highlights",
                     "length.paragraphs", "length.nth_paragraph_first_word", "content.postscript",
                     "startend.end_phrase", "startend.quotation", "combination.two_responses",
                     "punctuation.no_comma", REPEAT_PROMPT), "the whole response must be one JSON value"),
    ("length.paragraphs", ("length.nth_paragraph_first_word", "format.sections", "combination.two_responses"),
     "they split the response into parts by different separators"),
    ("length.nth_paragraph_first_word", ("format.sections",), "they split the response by different separators"),
    ("startend.end_phrase", ("startend.quotation", "content.postscript"), "both claim the end of the response"),
    ("case.whole", ("case.capital_words", "startend.end_phrase", "format.sections"),
     "the other asks for mixed or fixed case (a case-sensitive phrase or marker)"),
    ("format.constrained_response", ("*",), "the answer is one fixed sentence"),
    ("language.response", ("case.whole", "case.capital_words", "startend.end_phrase", "keywords.presence",
                           "keywords.frequency", "length.nth_paragraph_first_word", REPEAT_PROMPT),
     "the other asks for English words or case"),
    # Soft categories (CFBench's) whose texts set the same quantity or layout as a hard type.
    ("soft.word_count", ("length.words",), "two word-count targets"),
    ("soft.sentence_count", ("length.sentences",), "two sentence-count targets"),
    ("soft.paragraph_count", ("length.paragraphs", "length.nth_paragraph_first_word", "format.sections"),
     "two paragraph-count targets"),
    ("soft.document_count", ("format.bullet_list",), "two item-count targets"),
    ("soft.inverse", ("format.bullet_list",), "its texts may forbid lists"),
    *((layout, ("format.json", "format.bullet_list", "format.sections", "length.paragraphs",
                "length.nth_paragraph_first_word", "combination.two_responses", "startend.quotation",
                *others), "both prescribe the layout of the whole response")
      for layout, others in (("soft.fundamental_format", ("soft.specialized_format", "soft.bespoke_format")),
                             ("soft.specialized_format", ("soft.bespoke_format",)), ("soft.bespoke_format", ()))),
)

#: Attempts at params for one type before another type is tried.
MAX_RESAMPLES = 8


@dataclass(frozen=True)
class Seed:
    """A seed instruction and its id (the key of its private random generator)."""

    seed_id: str
    instruction: str


# -- reading seeds ----------------------------------------------------------------------------------------
def bundled_seeds_path() -> Path:
    """The packaged file of 300 seed instructions (``ifverify/data/seeds/seeds.jsonl``)."""
    return Path(str(resources.files("ifverify.data") / "seeds" / "seeds.jsonl"))


def derived_seed_id(instruction: str) -> str:
    """The id of a seed given without one: ``seed-`` + the first 12 hex digits of SHA-256 of the text.

    Derived from the text rather than the line number, so inserting lines keeps every id (and sample).
    """
    return "seed-" + hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:12]


def read_seeds(path: str | Path) -> tuple[list[Seed], list[LineError]]:
    """Seeds from a JSONL file, in file order, and the lines that could not be used.

    Each line is an object with ``instruction`` (or ``prompt``): a non-blank string, stripped; and an
    optional ``seed_id``: a non-blank string (default :func:`derived_seed_id`).  Other keys (``domain``)
    are ignored.  A bad line (not UTF-8, not JSON, not an object, a missing or blank instruction, a bad
    or repeated seed_id) becomes a :class:`LineError` and is skipped; it never stops the others.
    """
    seeds: list[Seed] = []
    errors: list[LineError] = []
    first_line: dict[str, int] = {}
    for number, row in read_jsonl_lines(path):
        if isinstance(row, LineError):
            errors.append(row)
            continue
        result = _seed_of(number, row, first_line)
        if isinstance(result, LineError):
            errors.append(result)
        else:
            first_line[result.seed_id] = number
            seeds.append(result)
    return seeds, errors


def _seed_of(number: int, row: dict[str, Any], first_line: Mapping[str, int]) -> Seed | LineError:
    key = "instruction" if "instruction" in row else "prompt"
    text = row.get(key)
    if text is None:
        return LineError(number, "instruction", "missing (give 'instruction' or 'prompt')")
    if not isinstance(text, str) or not text.strip():
        return LineError(number, key, f"expected a non-blank string, got {text!r:.60}")
    seed_id = row.get("seed_id", derived_seed_id(text.strip()))
    if not isinstance(seed_id, str) or not seed_id.strip():
        return LineError(number, "seed_id", f"expected a non-blank string, got {seed_id!r:.60}")
    if seed_id in first_line:
        return LineError(number, "seed_id", f"{seed_id!r} repeats line {first_line[seed_id]}")
    return Seed(seed_id, text.strip())


def load_bundled_seeds() -> list[Seed]:
    """The 300 packaged seeds (the file is known to be clean)."""
    return read_seeds(bundled_seeds_path())[0]


# -- compatibility ------------------------------------------------------------------------------------------
def _incompatible_table() -> dict[frozenset[str], str]:
    table: dict[frozenset[str], str] = {}
    for first, others, why in _INCOMPATIBLE:
        for other in others:
            table[frozenset((first, other))] = why
    return table


_TABLE = _incompatible_table()
_EXCLUSIVE = {first for first, others, _ in _INCOMPATIBLE if "*" in others}


def _words(constraint: Constraint, wanted: bool) -> set[str]:
    """Lower-cased words the constraint requires (``wanted``) or forbids in the response."""
    params = constraint.params
    if constraint.id == "keywords.presence" and (params.get("mode") == "include") == wanted:
        return {str(k).lower() for k in params.get("keywords", [])}
    if wanted and constraint.id == "keywords.frequency" and params.get("relation") == "at least":
        return {str(params.get("keyword", "")).lower()}
    if wanted and constraint.id == "length.nth_paragraph_first_word":
        return {str(params.get("first_word", "")).lower()}
    return set()


def incompatible(a: Constraint, b: Constraint) -> bool:
    """True when ``a`` and ``b`` may not share an instruction of the curriculum.

    That is: ``a.conflicts_with(b)`` (the library's rule: same type, declared ids, params clash); or a
    pair of the curriculum table (``_INCOMPATIBLE``: e.g. JSON output with a title); or an exclusive
    type with any other hard type; or a word one requires that the other forbids.
    """
    if a.conflicts_with(b) or frozenset((a.id, b.id)) in _TABLE:
        return True
    if (a.id in _EXCLUSIVE and b.kind == HARD) or (b.id in _EXCLUSIVE and a.kind == HARD):
        return True
    return bool(_words(a, True) & _words(b, False) or _words(b, True) & _words(a, False))


# -- sampling -----------------------------------------------------------------------------------------------
def seed_rng(seed: int, seed_id: str) -> random.Random:
    """The private generator of one seed instruction: seeded by SHA-256 of ``"{seed}\\0{seed_id}"``."""
    digest = hashlib.sha256(f"{seed}\0{seed_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _pools(registry: Registry, hard_ids: Sequence[str] | None,
           soft_ids: Sequence[str] | None) -> dict[str, list[type[Constraint]]]:
    """The candidate types by kind, in registry order (sorted ids); named ids are resolved and checked."""
    pools: dict[str, list[type[Constraint]]] = {}
    for kind, named in ((HARD, hard_ids), (SOFT, soft_ids)):
        if named is None:
            pools[kind] = [c for c in registry if c.kind == kind and c.id not in DEFAULT_EXCLUDED_HARD]
            continue
        chosen: list[type[Constraint]] = []
        for name in named:
            cls = registry.get(name)
            if cls.kind != kind:
                raise ValueError(f"{name!r} is a {cls.kind} constraint type, not {kind}")
            if cls not in chosen:
                chosen.append(cls)
        pools[kind] = sorted(chosen, key=lambda c: c.id)
    return pools


def _try_type(cls: type[Constraint], seed: Seed, rng: random.Random, chosen: Sequence[Constraint],
              registry: Registry) -> Constraint | None:
    """An instance of ``cls`` compatible with ``chosen``, or None after ``MAX_RESAMPLES`` tries."""
    for _ in range(MAX_RESAMPLES):
        if cls.id == REPEAT_PROMPT:
            spec: dict[str, Any] = {"id": cls.id, "params": {"prompt_to_repeat": seed.instruction}}
        else:
            try:
                spec = cls.sample_spec(rng)
            except NotImplementedError:
                return None
        try:
            built = registry.build_spec(spec)
        except ConstraintError:  # a type whose sampler breaks its own schema: try another type
            return None
        if not any(incompatible(built, other) for other in chosen):
            return built
        if cls.id == REPEAT_PROMPT:
            return None
    return None


def sample_constraints(seed: Seed, n: int, soft_ratio: float, rng: random.Random, registry: Registry,
                       pools: Mapping[str, Sequence[type[Constraint]]]) -> list[Constraint]:
    """``n`` pairwise compatible constraints for one seed, in order c1..cn.

    The number of soft ones is ``floor(n * soft_ratio)`` plus one with probability equal to the
    fractional part (2 or 3 of 5 at 0.5, each half the time); the positions of the soft ones are
    shuffled.  For each position a type of that kind is drawn uniformly among those not yet used or
    rejected for this seed, and its params are drawn up to ``MAX_RESAMPLES`` times until the instance is
    compatible with the earlier ones; then the type is dropped for this seed and another is drawn.  When
    a kind has no candidate left the other kind fills the position.

    Raises ValueError when no compatible constraint is left for a position.
    """
    exact = n * soft_ratio
    n_soft = int(exact) + (1 if rng.random() < exact - int(exact) else 0)
    kinds = [SOFT] * n_soft + [HARD] * (n - n_soft)
    rng.shuffle(kinds)
    left = {kind: list(types) for kind, types in pools.items()}
    chosen: list[Constraint] = []
    for kind in kinds:
        built = None
        for attempt_kind in (kind, HARD if kind == SOFT else SOFT):
            candidates = left[attempt_kind]
            while built is None and candidates:
                cls = candidates.pop(rng.randrange(len(candidates)))
                built = _try_type(cls, seed, rng, chosen, registry)
            if built is not None:
                break
        if built is None:
            raise ValueError(f"{seed.seed_id}: no compatible constraint left for c{len(chosen) + 1} of {n} "
                             f"(candidate types: {sum(len(p) for p in pools.values())})")
        chosen.append(built)
    return chosen


def join_prompt(seed: str, phrasings: Sequence[str]) -> str:
    """The seed followed by each constraint phrasing, all stripped.

    A phrasing follows a single space when the text so far ends with ``.``, ``!``, ``?``, ``"`` or ``)``
    and neither it nor the text's last line spans lines; otherwise it starts on a new line.
    """
    text = seed.strip()
    for phrase in (p.strip() for p in phrasings):
        inline = text.endswith((".", "!", "?", '"', ")")) and "\n" not in phrase and "\n" not in text
        text += (" " if inline else "\n") + phrase
    return text


def _as_seed(item: Seed | Mapping[str, Any] | str) -> Seed:
    if isinstance(item, Seed):
        return item
    if isinstance(item, str):
        return Seed(derived_seed_id(item.strip()), item.strip())
    text = str(item.get("instruction", item.get("prompt", ""))).strip()
    if not text:
        raise ValueError(f"seed without an instruction: {dict(item)!r:.80}")
    return Seed(str(item.get("seed_id") or derived_seed_id(text)), text)


def build_curriculum(seeds: Iterable[Seed | Mapping[str, Any] | str], *, n_constraints: int = 5,
                     soft_ratio: float = 0.5, seed: int = 0, registry: Registry | None = None,
                     hard_ids: Sequence[str] | None = None,
                     soft_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Curriculum rows for ``seeds``: levels 1..n_constraints of each, level-major.

    Rows come level by level (every seed's L1 in seed order, then every L2, ...), the order training
    walks.  Seeds are :class:`Seed` objects, mappings with ``instruction``/``prompt`` and optional
    ``seed_id``, or plain strings.  ``hard_ids``/``soft_ids`` restrict the types (default: every
    registered type of that kind, minus :data:`DEFAULT_EXCLUDED_HARD`); an empty list turns a kind off.

    Raises ValueError on bad arguments, a repeated seed_id, a ``soft_ratio`` that needs a kind with no
    types, or a seed for which no compatible constraints can be found.
    """
    if n_constraints < 1:
        raise ValueError(f"n_constraints must be at least 1, got {n_constraints}")
    if not 0.0 <= soft_ratio <= 1.0:
        raise ValueError(f"soft_ratio must be within [0, 1], got {soft_ratio}")
    registry = registry if registry is not None else default_registry()
    pools = _pools(registry, hard_ids, soft_ids)
    if soft_ratio > 0 and not pools[SOFT]:
        raise ValueError(f"soft_ratio is {soft_ratio} but no soft constraint type is available; "
                         "use soft_ratio=0 or register soft types")
    if soft_ratio < 1 and not pools[HARD]:
        raise ValueError(f"soft_ratio is {soft_ratio} but no hard constraint type is available")
    per_seed: list[tuple[Seed, list[Constraint]]] = []
    seen: set[str] = set()
    for item in seeds:
        current = _as_seed(item)
        if current.seed_id in seen:
            raise ValueError(f"seed_id {current.seed_id!r} appears twice")
        seen.add(current.seed_id)
        rng = seed_rng(seed, current.seed_id)
        per_seed.append((current, sample_constraints(current, n_constraints, soft_ratio, rng, registry, pools)))
    rows: list[dict[str, Any]] = []
    for level in range(1, n_constraints + 1):
        for current, constraints in per_seed:
            kept = constraints[:level]
            rows.append({
                "id": f"{current.seed_id}-L{level}", "seed_id": current.seed_id, "level": level,
                "seed": current.instruction,
                "prompt": join_prompt(current.instruction, [c.instruction() for c in kept]),
                "constraints": [c.to_spec() for c in kept],
            })
    return rows


def dump_row(row: Mapping[str, Any]) -> str:
    """One JSONL line (no newline): keys in insertion order, non-ASCII kept, the same bytes every run."""
    return json.dumps(row, ensure_ascii=False)


def write_rows(rows: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write rows as UTF-8 JSONL with ``\\n`` line ends; returns the count."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(dump_row(row) + "\n")
            count += 1
    return count
