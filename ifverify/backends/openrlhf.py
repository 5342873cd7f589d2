"""OpenRLHF (``openrlhf==0.11.2``) backend: a reward-function file and the JSONL data it reads.

OpenRLHF loads a Python file given as ``--reward.remote_url path/to/openrlhf_reward.py`` and calls its
``reward_func(queries, prompts, labels)`` once per sample, with lists of length 1.  ``query`` is the
prompt and the response decoded *with* special tokens; ``label`` is the row's ``--data.label_key``
value.  :func:`reward_file_path` gives that file (``ifverify openrlhf reward-file`` prints it)::

    ifverify openrlhf reward-file --write reward_ifverify.py
    python -m openrlhf.cli.train_ppo_ray ... --data.prompt_data train.jsonl --data.input_key prompt \\
        --data.label_key label --reward.remote_url reward_ifverify.py

:func:`write_openrlhf_jsonl` writes curriculum rows as that training data: ``prompt`` (the text) and
``label`` (the row's constraints as a JSON string).  This module also holds the response extraction
(:func:`extract_response`) and label parsing (:func:`label_columns`) the reward file uses.  Importing it
imports neither torch nor openrlhf.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifverify.backends.install import OPENRLHF_MODULE

if TYPE_CHECKING:
    from ifverify.backends.config import Config
    from ifverify.rewards.reward import Reward, SampleResult

#: Special tokens stripped from the end (and the start) of a decoded query: the end-of-turn, end-of-text
#: and padding tokens of the common chat templates (ChatML/Qwen, Llama 2/3, Mistral, Gemma, Phi, GPT-2).
#: Any other ``<|...|>`` token at the end is stripped too.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|end|>", "<|eom_id|>", "<|im_start|>",
    "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|assistant|>", "<|user|>",
    "</s>", "<s>", "<eos>", "<bos>", "<pad>", "<end_of_turn>", "<start_of_turn>", "[PAD]", "[SEP]", "[CLS]",
)

#: Markers that open the assistant's turn, used when the prompt cannot be found in the query.
ASSISTANT_MARKERS: tuple[str, ...] = (
    "<|im_start|>assistant\n", "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|assistant|>\n",
    "<start_of_turn>model\n", "[/INST]",
)

#: The ``extra_logs`` keys, shared by the reward file and ``ifverify serve``.
FAILURES_KEY = "ifverify/failures"
PASS_RATE_KEY = "ifverify/constraint_pass_rate"
CHECKED_PREFIX = "ifverify/checked/"
PASSED_PREFIX = "ifverify/passed/"

_TOKEN_NAME_MAX = 64
_TOKENS = frozenset(SPECIAL_TOKENS)
#: The lengths of the listed tokens by their first (last) two characters: one or two lookups per cut.
_BY_PREFIX: dict[str, tuple[int, ...]] = {}
_BY_SUFFIX: dict[str, tuple[int, ...]] = {}
for _token in SPECIAL_TOKENS:
    _BY_PREFIX[_token[:2]] = tuple(sorted({*_BY_PREFIX.get(_token[:2], ()), len(_token)}, reverse=True))
    _BY_SUFFIX[_token[-2:]] = tuple(sorted({*_BY_SUFFIX.get(_token[-2:], ()), len(_token)}, reverse=True))
_IFEVAL_KEYS = ("instruction_id_list", "kwargs")


def strip_special_tokens(text: str) -> str:
    """``text`` without the special tokens (and whitespace) around it.

    Strips, repeatedly, any token of :data:`SPECIAL_TOKENS` or any ``<|...|>`` token (1 to 64
    characters inside, none of them ``<``, ``>``, ``|`` or white space) at the end, and any token of
    :data:`SPECIAL_TOKENS` at the start.  Tokens inside the text are kept.  No listed token ends (or
    starts) another, so at most one token matches at each end and the order of cuts does not matter.
    Each cut moves an index after a few set lookups, so ``"answer" + "<|im_end|>" * 100000`` takes
    linear time.
    """
    start, end = _skip_space(text, 0, len(text))
    while start < end:
        cut = _trailing_token(text, start, end)
        if cut is None:
            for n in _BY_SUFFIX.get(text[max(start, end - 2):end], ()):
                if end - start >= n and text[end - n:end] in _TOKENS:
                    cut = end - n
                    break
        if cut is None:
            break
        start, end = _skip_space(text, start, cut, left=False)
    while start < end:
        cut = None
        for n in _BY_PREFIX.get(text[start:start + 2], ()):
            if end - start >= n and text[start:start + n] in _TOKENS:
                cut = start + n
                break
        if cut is None:
            break
        start, end = _skip_space(text, cut, end, right=False)
    return text[start:end]


def _skip_space(text: str, start: int, end: int, *, left: bool = True, right: bool = True) -> tuple[int, int]:
    """``(start, end)`` moved past white space (``str.isspace``) on the chosen sides."""
    while right and end > start and text[end - 1].isspace():
        end -= 1
    while left and start < end and text[start].isspace():
        start += 1
    return start, end


def _trailing_token(text: str, start: int, end: int) -> int | None:
    """Where a ``<|name|>`` token ending at ``end`` starts (``_TRAILING_TOKEN``'s rule), or None.

    The name cannot hold ``|``, so it is the run after the last delimiter before the closing ``|>``.
    """
    if end - start < 5 or not text.endswith("|>", start, end):
        return None
    i, low = end - 3, max(start, end - 2 - (_TOKEN_NAME_MAX + 1))
    while i >= low and not (text[i] in "<>|" or text[i].isspace()):
        i -= 1
    if i < low or text[i] != "|" or not 1 <= end - 3 - i <= _TOKEN_NAME_MAX or i - 1 < start or text[i - 1] != "<":
        return None
    return i - 1


def strip_prompt(query: str, prompt: str | None) -> str:
    """The part of ``query`` after ``prompt``.

    The prompt is removed when the query starts with it (OpenRLHF's case), or, should decoding have
    changed it, after its first occurrence; failing both, after the last assistant-turn marker of
    :data:`ASSISTANT_MARKERS`; failing that, the query is returned whole.
    """
    if prompt:
        if query.startswith(prompt):
            return query[len(prompt):]
        at = query.find(prompt)
        if at >= 0:
            return query[at + len(prompt):]
        stripped = prompt.strip()
        if stripped and (at := query.find(stripped)) >= 0:
            return query[at + len(stripped):]
    best = -1
    for marker in ASSISTANT_MARKERS:
        at = query.rfind(marker)
        if at >= 0:
            best = max(best, at + len(marker))
    return query[best:] if best >= 0 else query


def extract_response(query: str, prompt: str | None) -> str:
    """The model's response in an OpenRLHF query: the prompt and the special tokens removed."""
    if not isinstance(query, str):
        raise TypeError(f"query must be a string, got {type(query).__name__}")
    return strip_special_tokens(strip_prompt(query, prompt if isinstance(prompt, str) else None))


def label_columns(label: Any) -> dict[str, Any]:
    """The Reward columns a label carries: ``{"constraints": [...]}`` or IFEval's two lists.

    ``label`` is a JSON string (or the decoded value): a list of native constraint specs, an object with
    ``constraints``, or an object with IFEval's ``instruction_id_list`` and ``kwargs``.  Raises
    ``ValueError`` on anything else.
    """
    if isinstance(label, bytes):
        label = label.decode("utf-8")
    if isinstance(label, str):
        try:
            label = json.loads(label)
        except ValueError as exc:
            raise ValueError(f"label is not valid JSON ({exc}): {label[:80]!r}") from None
    if isinstance(label, list | tuple):
        return {"constraints": list(label)}
    if isinstance(label, Mapping):
        if label.get("constraints") is not None:
            return {"constraints": label["constraints"]}
        if label.get("instruction_id_list") is not None:
            return {key: label.get(key) for key in _IFEVAL_KEYS}
        raise ValueError("label object needs 'constraints' or 'instruction_id_list' (+ 'kwargs')")
    raise ValueError(f"label must be a JSON list of constraints or an object, got {type(label).__name__}")


def extra_logs(results: Sequence[SampleResult], constraint_ids: Sequence[str]) -> dict[str, float]:
    """One call's ``extra_logs``, averaged over its samples, under stable keys: failures, the mean pass rate,
    and per constraint id (every id in ``constraint_ids``, always present) the share of samples that
    checked it and the mean pass rate among its verdicts."""
    n = max(1, len(results))
    logs = {FAILURES_KEY: float(sum(r.error is not None for r in results)), PASS_RATE_KEY: 0.0}
    checked = dict.fromkeys(constraint_ids, 0.0)
    passed = dict.fromkeys(constraint_ids, 0.0)
    for result in results:
        verdicts = [r for r in result.results if r.verdict is not None]
        if verdicts:
            logs[PASS_RATE_KEY] += sum(bool(r.verdict) for r in verdicts) / len(verdicts) / n
        for cid in {r.id for r in verdicts}:
            if cid in checked:
                mine = [bool(r.verdict) for r in verdicts if r.id == cid]
                checked[cid] += 1.0 / n
                passed[cid] += sum(mine) / len(mine) / n
    logs.update({CHECKED_PREFIX + key: value for key, value in checked.items()})
    logs.update({PASSED_PREFIX + key: value for key, value in passed.items()})
    return logs


def score_samples(reward: Reward, samples: Sequence[tuple[Any, Any, dict[str, Any] | str]]) -> list[SampleResult]:
    """Score OpenRLHF samples ``(query, prompt, columns)`` in one ``score_batch`` call, as the reward
    file and ``ifverify serve`` both do.  ``columns`` are a label's :func:`label_columns`, or the error
    message of a label that had none.  A sample that cannot be scored (a bad label, a bad query, no
    constraints, a checker failure) gets reward 0.0 and an ``error``, so it counts in ``extra_logs``'
    failures.  Never raises.
    """
    from ifverify.rewards.reward import SampleResult

    results: list[SampleResult | None] = [None] * len(samples)
    todo: list[tuple[int, str, dict[str, Any]]] = []
    for i, (query, prompt, columns) in enumerate(samples):
        if isinstance(columns, str):
            results[i] = SampleResult(0.0, [], columns)
            continue
        try:
            todo.append((i, extract_response(query, prompt), columns))
        except Exception as exc:
            results[i] = SampleResult(0.0, [], f"query: {type(exc).__name__}: {exc}")
    if todo:
        keys = sorted({key for _, _, columns in todo for key in columns})
        try:
            scored = reward.score_batch(prompts=[samples[i][1] for i, _, _ in todo],
                                        completions=[text for _, text, _ in todo],
                                        **{key: [columns.get(key) for _, _, columns in todo] for key in keys})
        except Exception as exc:  # a configuration problem of the batch: every sample fails, nothing raises
            scored = [SampleResult(None, [], f"{type(exc).__name__}: {exc}")] * len(todo)
        for (i, _, _), result in zip(todo, scored, strict=True):
            if result.reward is None:
                result = SampleResult(0.0, result.results, result.error or "no reward (no constraint scored)")
            results[i] = result
    return [r if r is not None else SampleResult(0.0, [], "not scored") for r in results]


def parse_label(label: Any) -> dict[str, Any] | str:
    """:func:`label_columns` of a label, or the error message (``labels: ...``) of one that has none."""
    try:
        return label_columns(label)
    except (ValueError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        return f"label: {message[:300]}"


def row_label(row: Mapping[str, Any]) -> str:
    """A curriculum (or IFEval) row's label: its constraints as a JSON string."""
    if row.get("constraints") is not None:
        constraints = row["constraints"]
        if isinstance(constraints, str):
            constraints = json.loads(constraints)
        return json.dumps(constraints, ensure_ascii=False, sort_keys=True)
    if row.get("instruction_id_list") is not None:
        return json.dumps({key: row.get(key) for key in _IFEVAL_KEYS}, ensure_ascii=False, sort_keys=True)
    raise ValueError(f"row {row.get('id', '?')!r} has neither 'constraints' nor 'instruction_id_list'")


def reward_file_path() -> Path:
    """The path of the reward-function file to pass as ``--reward.remote_url``."""
    return Path(__file__).with_name("openrlhf_reward.py")


def write_openrlhf_jsonl(rows: Iterable[Mapping[str, Any]], out_path: str | Path) -> int:
    """Write rows as OpenRLHF prompt data, one JSON object a line; returns the number of rows.

    Each line has ``prompt`` (the row's prompt text; use ``--data.input_key prompt`` with
    ``--data.apply_chat_template``), ``label`` (the constraints as a JSON string; ``--data.label_key
    label``), and the row's ``id``, ``level`` and ``seed_id`` where present.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for row in rows:
            prompt = row.get("prompt")
            if not isinstance(prompt, str):
                raise ValueError(f"row {row.get('id', '?')!r}: 'prompt' must be a string, got {prompt!r}")
            record: dict[str, Any] = {"prompt": prompt, "label": row_label(row)}
            for key in ("id", "level", "seed_id"):
                if key in row:
                    record[key] = row[key]
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


# -- the ifverify train command ------------------------------------------------------------------------
def format_value(value: Any) -> str:
    """A flag value as text: booleans lower-case, everything else ``str`` (floats keep ``repr`` form)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def openrlhf_command(config: Config, data_path: str) -> list[str]:
    """The ``openrlhf.cli.train_ppo_ray`` command line (OpenRLHF 0.11.2 dotted flags)."""
    t, g = config.trainer, config.generation
    # Flag names checked against the argument parser of openrlhf 0.11.2 (openrlhf/cli/train_ppo_ray.py).
    cmd = [
        "python", "-m", OPENRLHF_MODULE,
        "--actor.model_name_or_path", config.policy["model"],
        "--data.prompt_dataset", data_path,
        "--data.input_key", "prompt",
        "--data.label_key", "label",
        "--data.max_len", format_value(g["max_prompt_length"] + g["max_completion_length"]),  # prompt + response
        "--rollout.max_new_tokens", format_value(g["max_completion_length"]),
        "--rollout.temperature", format_value(g["temperature"]),
        "--rollout.n_samples_per_prompt", format_value(t["num_generations"]),
        "--reward.remote_url", str(reward_file_path()),
        "--algo.advantage.estimator", "group_norm",
        "--actor.adam.lr", format_value(t["learning_rate"]),
        "--algo.kl.init_coef", format_value(t["kl_coef"]),
        "--ckpt.output_dir", t["output_dir"],
        "--train.seed", format_value(t["seed"]),
    ]
    o = config.openrlhf
    for key, value in (o.get("vllm") or {}).items():  # vLLM engine settings: --vllm.<key>
        cmd += _flag(f"vllm.{key}", value)
    for key, value in (o.get("flags") or {}).items():  # any other dotted flag, e.g. actor.num_gpus_per_node
        cmd += _flag(key, value)
    cmd += [str(a) for a in o.get("args") or []]
    return cmd


def _flag(name: str, value: Any) -> list[str]:
    if value is True:
        return [f"--{name}"]
    if value is False or value is None:
        return []
    return [f"--{name}", format_value(value)]
