"""verl (``verl==0.9.1``) backend: a custom reward function and the parquet data it reads.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)`` per
sample and accepts a float or a dict with ``"score"``; point its config at this module::

    reward.custom_reward_function.path=$(python -c "import ifverify.backends.verl as m; print(m.__file__)")
    reward.custom_reward_function.name=compute_score
    data.train_files=train.parquet

:func:`write_verl_parquet` writes curriculum rows in verl's RL data layout, with the constraints as a
JSON string in ``reward_model.ground_truth``.  Configuration (``IFVERIFY_AGGREGATION``, ``IFVERIFY_MODE``,
``IFVERIFY_CLASSIFIER``, ``IFVERIFY_WEIGHTS``, ``IFVERIFY_THRESHOLD``; :mod:`ifverify.backends.reward_env`,
set by ``ifverify train`` from the config's ``reward:`` block) is read from the environment on the first call.
Importing this module imports neither torch, verl nor pyarrow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifverify.backends.install import VERL_MODULE
from ifverify.backends.openrlhf import format_value, label_columns, row_label, strip_special_tokens
from ifverify.backends.reward_env import reward_from_env
from ifverify.constraints.registry import default_registry
from ifverify.rewards.reward import Reward

if TYPE_CHECKING:
    from ifverify.backends.config import Config

log = logging.getLogger("ifverify.backends.verl")

VERL_REWARD_NAME = "compute_score"
DATA_SOURCE = "ifverify"
ABILITY = "instruction_following"
INSTALL_HINT = ('writing verl data needs pyarrow: pip install -e ".[verl]" in the verl environment '
                "(or pip install pyarrow)")

_reward: Reward | None = None
_ids: tuple[str, ...] | None = None
_lock = threading.Lock()


def get_reward() -> Reward:
    """The process-wide Reward, built from the ``IFVERIFY_*`` environment variables on first use."""
    global _reward
    with _lock:
        if _reward is None:
            _reward = reward_from_env("ifverify_verl")
        return _reward


def constraint_ids() -> tuple[str, ...]:
    """Every registered constraint id, sorted: the per-constraint keys of :func:`compute_score`."""
    global _ids
    if _ids is None:
        _ids = tuple(sorted(default_registry().ids()))
    return _ids


def compute_score(data_source: Any, solution_str: Any, ground_truth: Any, extra_info: Any = None,
                  **kwargs: Any) -> dict[str, Any]:
    """verl's reward: ``{"score": float, "error", "constraint_pass_rate", "checked/<id>", "pass/<id>"}``.

    ``ground_truth`` is the row's constraints (a JSON string or the decoded list, or IFEval's
    ``{"instruction_id_list", "kwargs"}``).  Every call returns the same keys, all floats, as verl stacks
    the extra keys per key across samples: for every registered constraint id, ``checked/<id>`` is 1.0
    when the row carries it and ``pass/<id>`` its verdict (0.0 when not carried), so a type's pass rate
    is mean(pass) / mean(checked).  ``error`` is 1.0 when the sample could not be scored (its score is
    then 0.0).  Never raises on a sample; a bad ``IFVERIFY_*`` value raises on the first call.
    """
    reward = get_reward()
    out: dict[str, Any] = {"score": 0.0, "error": 1.0, "constraint_pass_rate": 0.0}
    out.update({f"checked/{cid}": 0.0 for cid in constraint_ids()})
    out.update({f"pass/{cid}": 0.0 for cid in constraint_ids()})
    try:
        text = strip_special_tokens(solution_str if isinstance(solution_str, str) else str(solution_str))
        columns = {key: [value] for key, value in label_columns(ground_truth).items()}
        prompt = extra_info.get("prompt") if isinstance(extra_info, Mapping) else None
        result = reward.score_batch(prompts=[prompt if isinstance(prompt, str) else None], completions=[text],
                                    **columns)[0]
    except Exception as exc:
        log.warning("ifverify verl reward: a sample could not be scored: %s: %s", type(exc).__name__, exc)
        return out
    out["score"] = float(result.reward or 0.0)
    out["error"] = float(result.error is not None)
    verdicts: dict[str, list[bool]] = {}
    for r in result.results:
        if r.verdict is not None:
            verdicts.setdefault(r.id, []).append(bool(r.verdict))
    if verdicts:
        flat = [v for values in verdicts.values() for v in values]
        out["constraint_pass_rate"] = sum(flat) / len(flat)
    for cid, values in verdicts.items():
        if f"pass/{cid}" in out:  # unregistered ids would break verl's per-key stacking
            out[f"checked/{cid}"] = 1.0
            out[f"pass/{cid}"] = sum(values) / len(values)
    return out


def verl_record(row: Mapping[str, Any], index: int) -> dict[str, Any]:
    """One curriculum row in verl's RL data layout."""
    prompt = row.get("prompt")
    if not isinstance(prompt, str):
        raise ValueError(f"row {row.get('id', '?')!r}: 'prompt' must be a string, got {prompt!r}")
    level = row.get("level")
    return {
        "data_source": DATA_SOURCE,
        "prompt": [{"role": "user", "content": prompt}],
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": row_label(row)},
        "extra_info": {"id": str(row.get("id", "")), "level": int(level) if level is not None else 0,
                       "seed_id": str(row.get("seed_id", "")), "index": index, "prompt": prompt},
    }


def write_verl_parquet(rows: Iterable[Mapping[str, Any]], out_path: str | Path) -> int:
    """Write rows as a verl parquet file (``data.train_files``); returns the number of rows."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    records = [verl_record(row, i) for i, row in enumerate(rows)]
    if not records:
        raise ValueError("no rows to write")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), out)
    return len(records)


# -- the ifverify train command ------------------------------------------------------------------------
def verl_reward_path() -> str:
    """The file of this module, for ``reward.custom_reward_function.path``."""
    return str(Path(__file__).resolve())


def verl_command(config: Config, data_path: str) -> list[str]:
    """The ``verl.trainer.main_ppo`` command line (verl 0.9.1 Hydra overrides)."""
    t, g = config.trainer, config.generation
    cmd = [
        "python", "-m", VERL_MODULE,
        "algorithm.adv_estimator=grpo",
        f"data.train_files={data_path}",
        f"data.val_files={data_path}",  # verl wants a validation set; the training file stands in
        "data.prompt_key=prompt",
        f"data.max_prompt_length={g['max_prompt_length']}",
        f"data.max_response_length={g['max_completion_length']}",
        "data.shuffle=false",  # verl 0.9.1 then samples with a SequentialSampler: the level order is kept
        f"actor_rollout_ref.model.path={config.policy['model']}",
        f"actor_rollout_ref.actor.optim.lr={format_value(t['learning_rate'])}",
        f"actor_rollout_ref.actor.use_kl_loss={format_value(t['kl_coef'] > 0)}",
        f"actor_rollout_ref.actor.kl_loss_coef={format_value(t['kl_coef'])}",
        "algorithm.use_kl_in_reward=false",
        f"algorithm.kl_ctrl.kl_coef={format_value(t['kl_coef'])}",
        f"actor_rollout_ref.rollout.n={t['num_generations']}",
        f"actor_rollout_ref.rollout.temperature={format_value(g['temperature'])}",
        f"reward.custom_reward_function.path={verl_reward_path()}",
        f"reward.custom_reward_function.name={VERL_REWARD_NAME}",
        f"trainer.default_local_dir={t['output_dir']}",  # verl 0.9.1's checkpoint folder
        f"trainer.save_freq={t['save_steps']}",
    ]
    for key, value in (config.verl.get("settings") or {}).items():
        cmd.append(f"{key}={format_value(value)}")
    cmd += [str(a) for a in config.verl.get("overrides") or []]
    return cmd
