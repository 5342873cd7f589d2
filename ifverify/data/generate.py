"""Response generation for curriculum rows: a local transformers model or any OpenAI-compatible server.

Both backends implement :class:`Generator`; :func:`generate_file` runs one over a JSONL file and is
resumable.  An answered row is the input row plus ``response`` and ``generator`` (backend, model,
max_new_tokens, temperature, seed); a failed one is the input row plus ``error`` (kind, message,
attempts) and no ``response``.  By default the bare seed of each ``seed_id`` is answered too, as a
level-0 row ``{"id": "<seed_id>-L0", "seed_id", "level": 0, "seed", "prompt": <seed>, "constraints": []}``.

torch and transformers are imported only when a :class:`LocalGenerator` is built.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click

from ifverify.data.curriculum import dump_row
from ifverify.data.generator_base import Failure, Generator
from ifverify.data.jsonl import LineError, read_jsonl_lines
from ifverify.models import load_local_model  # noqa: F401  (importable from here, as before)

#: Keys of an output row that are results, dropped from an input row before it is answered again.
RESULT_KEYS = ("response", "generator", "error")


# -- the local backend --------------------------------------------------------------------------------------
class LocalGenerator(Generator):
    """A local causal LM through transformers, batched, greedy unless ``temperature > 0``.

    ``model`` is ``None`` (the packaged SmolLM2-135M-Instruct GGUF), a ``.gguf`` file, a local folder, or
    an already loaded model (then ``tokenizer`` is required).  Each prompt is one user message passed
    through the tokenizer's chat template (with the generation prompt); a tokenizer without a template
    gets the raw prompt with its special tokens.  Prompts are batched longest first (by characters, so
    a batch pads little), left-padded; the pad token defaults to EOS.  A response is the decoding of the
    new tokens only, special tokens skipped, stripped of surrounding whitespace.

    ``threads`` sets ``torch.set_num_threads`` while generating (restored afterwards; ``None`` leaves it).
    The default is 1 because generation usually shares the machine with other work; more threads help
    only when cores are free (see ``benchmarks/bench_generate.py``).  With ``temperature > 0`` each batch
    samples under ``torch.manual_seed(seed + batch number)`` inside ``torch.random.fork_rng``, so the global
    generator is untouched; a batch that raises becomes one Failure (``generation_error``) per row.
    """

    backend = "local"

    def __init__(self, model: str | Path | Any | None = None, tokenizer: Any | None = None, *,
                 max_new_tokens: int = 256, temperature: float = 0.0, batch_size: int = 8, threads: int | None = 1,
                 seed: int = 0, device: str = "cpu", chat_template: bool = True,
                 generation_kwargs: Mapping[str, Any] | None = None, model_name: str | None = None) -> None:
        if max_new_tokens < 1 or batch_size < 1 or (threads is not None and threads < 1) or temperature < 0:
            raise ValueError("max_new_tokens, batch_size and threads must be >= 1 and temperature >= 0")
        if model is None or isinstance(model, (str, Path)):
            self.model, self.tokenizer, name = load_local_model(model)
        else:
            if tokenizer is None:
                raise ValueError("a loaded model needs its tokenizer: LocalGenerator(model, tokenizer)")
            self.model, self.tokenizer = model, tokenizer
            name = getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
        self.model_name = model_name or name
        self.max_new_tokens, self.temperature, self.batch_size = max_new_tokens, temperature, batch_size
        self.threads, self.seed, self.device = threads, seed, device
        self.generation_kwargs = dict(generation_kwargs or {})
        self.model.to(device)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.templated = chat_template and bool(getattr(self.tokenizer, "chat_template", None))

    def metadata(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model_name, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature, "seed": self.seed}

    def render(self, prompt: str) -> str:
        """The model input text of a prompt: the chat template applied to one user message."""
        if not self.templated:
            return prompt
        return str(self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                      add_generation_prompt=True, tokenize=False))

    def generate(self, prompts: Sequence[str]) -> Iterator[tuple[int, str | Failure]]:
        import torch

        texts = [self.render(p) for p in prompts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        previous = torch.get_num_threads()
        try:
            for number, start in enumerate(range(0, len(order), self.batch_size)):
                batch = order[start:start + self.batch_size]
                if self.threads is not None:
                    torch.set_num_threads(self.threads)
                try:
                    answers: list[str | Failure] = list(self.generate_batch([texts[i] for i in batch], number))
                except Exception as exc:  # one bad batch (out of memory, a model error) fails only its rows
                    answers = [Failure("generation_error", f"{type(exc).__name__}: {exc}")] * len(batch)
                finally:
                    torch.set_num_threads(previous)
                yield from zip(batch, answers, strict=True)
        finally:
            torch.set_num_threads(previous)

    def generate_batch(self, texts: Sequence[str], number: int = 0) -> list[str]:
        """Responses to already rendered texts, in order; ``number`` picks the sampling seed."""
        import torch

        encoded = self.tokenizer(list(texts), return_tensors="pt", padding=True,
                                 add_special_tokens=not self.templated).to(self.device)
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id,
                                  "do_sample": self.temperature > 0}
        if self.temperature > 0:
            kwargs["temperature"] = self.temperature
        kwargs.update(self.generation_kwargs)
        devices: list[int] | None = [] if self.device == "cpu" else None
        with torch.inference_mode(), torch.random.fork_rng(devices=devices, enabled=self.temperature > 0):
            if self.temperature > 0:
                torch.manual_seed(self.seed + number)
            output = self.model.generate(**encoded, **kwargs)
        new_tokens = output[:, encoded["input_ids"].shape[1]:]
        return [text.strip() for text in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


# -- running over a file -------------------------------------------------------------------------------------
@dataclass
class GenerationSummary:
    """What one :func:`generate_file` run did."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    input_errors: list[LineError] = field(default_factory=list)
    failures: list[tuple[str, Failure]] = field(default_factory=list)
    unreadable_output_lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.input_errors


def read_generation_input(path: str | Path) -> tuple[list[dict[str, Any]], list[LineError]]:
    """Rows with a non-blank string ``id`` (unique) and a string ``prompt``; other lines become errors."""
    rows: list[dict[str, Any]] = []
    errors: list[LineError] = []
    first: dict[str, int] = {}
    for number, row in read_jsonl_lines(path):
        if isinstance(row, LineError):
            errors.append(row)
        elif not isinstance(row.get("id"), str) or not row["id"].strip():
            errors.append(LineError(number, "id", "missing or not a non-blank string"))
        elif not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            errors.append(LineError(number, "prompt", "missing or not a non-blank string"))
        elif row["id"] in first:
            errors.append(LineError(number, "id", f"{row['id']!r} repeats line {first[row['id']]}"))
        else:
            first[row["id"]] = number
            rows.append({k: v for k, v in row.items() if k not in RESULT_KEYS})
    return rows, errors


def plan_jobs(rows: Sequence[dict[str, Any]], with_l0: bool) -> list[dict[str, Any]]:
    """The rows to answer: with ``with_l0``, first one level-0 row per ``seed_id`` (in order of first
    appearance; only rows with string ``seed_id`` and non-blank ``seed``; none when the input already has
    that id), then the input rows in input order."""
    if not with_l0:
        return list(rows)
    ids = {row["id"] for row in rows}
    zero: dict[str, dict[str, Any]] = {}
    for row in rows:
        seed_id, seed = row.get("seed_id"), row.get("seed")
        if isinstance(seed_id, str) and isinstance(seed, str) and seed.strip() and seed_id not in zero:
            if f"{seed_id}-L0" not in ids:
                zero[seed_id] = {"id": f"{seed_id}-L0", "seed_id": seed_id, "level": 0, "seed": seed,
                                 "prompt": seed, "constraints": []}
    return [*zero.values(), *rows]


def _read_previous(path: Path, jobs: Sequence[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]],
                                                                         list[dict[str, Any]], int]:
    """From an earlier (maybe interrupted) output: the latest row per job id, answered rows winning over
    error rows and only for the same prompt; the rows of other ids (kept); the unreadable line count."""
    latest: dict[str, dict[str, Any]] = {}
    foreign: list[dict[str, Any]] = []
    unreadable = 0
    if not path.exists():
        return latest, foreign, unreadable
    prompts = {job["id"]: job["prompt"] for job in jobs}
    for _, row in read_jsonl_lines(path):
        if isinstance(row, LineError):
            unreadable += 1
        elif row.get("id") not in prompts:
            foreign.append(row)
        elif row.get("prompt") == prompts[row["id"]]:
            answered = isinstance(row.get("response"), str)
            if answered or not isinstance(latest.get(row["id"], {}).get("response"), str):
                latest[row["id"]] = row
    return latest, foreign, unreadable


def ends_with_newline(path: Path) -> bool:
    """True when appending to ``path`` starts a new line: it is missing, empty, or ends in ``\\n``."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _rewrite(path: Path, jobs: Sequence[dict[str, Any]], latest: Mapping[str, dict[str, Any]],
             foreign: Sequence[dict[str, Any]]) -> None:
    """Replace ``path`` atomically: each job's latest row in job order, then rows of other ids."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8", newline="\n") as out:
        for row in [*(latest[job["id"]] for job in jobs if job["id"] in latest), *foreign]:
            out.write(dump_row(row) + "\n")
    os.replace(temporary, path)


def generate_file(in_path: str | Path, out_path: str | Path, generator: Generator, *, with_l0: bool = True,
                  progress: bool = True, log: IO[str] | None = None) -> GenerationSummary:
    """Answer every row of ``in_path`` into ``out_path``; resumable.

    Rules:
    - a row whose ``id`` already has a ``response`` in ``out_path`` *for the same prompt* is skipped;
      error rows and rows whose prompt changed are generated again;
    - each finished row is appended to ``out_path`` and flushed at once, so an interruption loses at
      most the rows in flight (a torn last line is ignored on the next run);
    - at the end ``out_path`` is rewritten atomically in job order (level-0 rows first, then input
      order), one row per id: the answer, else the latest error; rows of ids not in the input are kept
      after them;
    - bad input lines are reported as ``line N: field: problem`` and skipped; every failed row is kept
      as an error row and listed in ``log`` (default stderr) with the summary.

    The progress bar goes to stderr when ``progress`` is set and stderr is a terminal.
    """
    out_path = Path(out_path)
    log = log if log is not None else sys.stderr
    rows, input_errors = read_generation_input(in_path)
    jobs = plan_jobs(rows, with_l0)
    latest, foreign, unreadable = _read_previous(out_path, jobs)
    summary = GenerationSummary(input_errors=input_errors, unreadable_output_lines=unreadable)
    todo = [job for job in jobs if not isinstance(latest.get(job["id"], {}).get("response"), str)]
    summary.skipped = len(jobs) - len(todo)
    meta = generator.metadata()
    show = progress and sys.stderr.isatty()
    needs_newline = not ends_with_newline(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    seen: set[int] = set()
    bar_file: Any = sys.stderr if show else NullSink()
    results = generator.generate([job["prompt"] for job in todo])
    with open(out_path, "a", encoding="utf-8", newline="\n") as out, \
            click.progressbar(length=len(todo), label="generating", file=bar_file) as bar, \
            contextlib.closing(results):  # type: ignore[type-var]
        if needs_newline:
            out.write("\n")
        for index, result in results:
            if index in seen or not 0 <= index < len(todo):
                continue  # a generator bug must not write a row twice
            seen.add(index)
            _record(out, todo[index], result, meta, latest, summary)
            bar.update(1)
        for index in sorted(set(range(len(todo))) - seen):
            _record(out, todo[index], Failure("no_result", "the generator returned nothing for this row", 0),
                    meta, latest, summary)
    _rewrite(out_path, jobs, latest, foreign)
    report(summary, log)
    return summary


def _record(out: IO[str], job: dict[str, Any], result: str | Failure, meta: dict[str, Any],
            latest: dict[str, dict[str, Any]], summary: GenerationSummary) -> None:
    if isinstance(result, Failure):
        row = {**job, "error": result.to_dict()}
        summary.failed += 1
        summary.failures.append((job["id"], result))
    else:
        row = {**job, "response": result, "generator": dict(meta)}
        summary.done += 1
    out.write(dump_row(row) + "\n")
    out.flush()
    latest[job["id"]] = row


def report(summary: GenerationSummary, log: IO[str]) -> None:
    """Print input errors, each failure (``id: kind: message (n attempts)``) and the summary line."""
    for error in summary.input_errors:
        click.echo(str(error), file=log)
    for row_id, failure in summary.failures:
        click.echo(f"{row_id}: {failure.kind}: {failure.message} ({failure.attempts} attempt(s))", file=log)
    if summary.unreadable_output_lines:
        click.echo(f"ignored {summary.unreadable_output_lines} unreadable line(s) of the earlier output "
                   "(an interrupted write)", file=log)
    click.echo(f"generated {summary.done}, skipped {summary.skipped} (already answered), failed {summary.failed}, "
               f"bad input lines {len(summary.input_errors)}", file=log)


class NullSink:
    """A write-only sink for the hidden progress bar."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
