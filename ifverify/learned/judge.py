"""An LLM judge behind an OpenAI-compatible endpoint, as a soft scorer (``judge:<url>`` specs).

For each (constraint text, response) pair, :class:`JudgeScorer` sends one chat request: a single user
message made by :func:`judge_prompt`, ending in :data:`QUESTION`, with ``temperature: 0``,
``max_tokens: 1``, ``logprobs: true`` and ``top_logprobs: 20``.  The score is read, in this order:

1. from the logprobs (:func:`p_yes`): over the ``top_logprobs`` of the first generated token, the
   probabilities of the tokens that read ``yes`` once stripped of whitespace and lower-cased (``Yes``,
   `` yes``, ``YES``...) are summed, and so are those that read ``no``; the score is
   P(yes) / (P(yes) + P(no)).  When neither appears among them, or the answer has no logprobs,
2. from the answer text (:func:`text_verdict`): a first word ``yes`` is 1.0, ``no`` is 0.0 (any case,
   leading punctuation and whitespace ignored);
3. otherwise the pair fails (kind ``no_verdict``) and is counted in ``stats.failures``.

Requests go through :class:`ifverify.data.openai_chat.ChatClient` (timeouts, retries with exponential
backoff, ``Retry-After``) on at most ``concurrency`` threads.  Scores are cached by (model, prompt), at
most ``cache_size`` entries, least recently used dropped first; failures are not cached.  Without a
``model``, the first id of the endpoint's ``/v1/models`` is used.  :meth:`JudgeScorer.score_pairs` raises
:class:`JudgeError` when any pair fails; :meth:`JudgeScorer.judge_pairs` returns the failures instead.

Spec strings (:func:`judge_from_spec`):
``judge:<base_url>[?model=<name>&concurrency=N&timeout=S&retries=N&api_key_env=VAR]``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote

from ifverify.data.generator_base import Failure
from ifverify.data.openai_chat import ChatClient, bounded_map, first_token_top_logprobs, message_content
from ifverify.learned.features import encodable

PREFIX = "judge:"
QUESTION = "Does the response satisfy the constraint? Answer yes or no."
TOP_LOGPROBS = 20
_FIRST_WORD = re.compile(r"[\W_]*([a-z]+)")


def judge_prompt(constraint_text: str, response: str) -> str:
    """The user message for one pair: the constraint, the response, then :data:`QUESTION`."""
    return f"Constraint: {constraint_text}\n\nResponse:\n{response}\n\n{QUESTION}"


def p_yes(top: Sequence[tuple[str, float]]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over (token, logprob) alternatives, variants summed (module docstring);
    None when no alternative reads yes or no, or both have probability 0."""
    yes = no = 0.0
    for token, logprob in top:
        word = token.strip().lower()
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    if yes + no <= 0.0:
        return None
    return yes / (yes + no)


def text_verdict(text: str) -> float | None:
    """1.0 when the first word of ``text`` is yes, 0.0 when it is no (any case), else None."""
    match = _FIRST_WORD.match(text.lower())
    word = match.group(1) if match else ""
    return 1.0 if word == "yes" else 0.0 if word == "no" else None


class JudgeError(RuntimeError):
    """Some pairs got no verdict from the judge (the message gives the count and the first failure)."""


@dataclass
class JudgeStats:
    """Counters since the scorer was built: HTTP requests made (pairs sent, retries not counted), cache
    hits, verdicts read from logprobs and from the answer text, and failed pairs."""

    requests: int = 0
    cache_hits: int = 0
    logprob_verdicts: int = 0
    text_verdicts: int = 0
    failures: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class JudgeScorer:
    """A :class:`ifverify.rewards.reward.SoftScorer` that asks an LLM judge (module docstring)."""

    threshold: float = 0.5

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None,
                 concurrency: int = 8, timeout: float = 60.0, retries: int = 4, backoff: float = 1.0,
                 max_backoff: float = 60.0, cache_size: int = 65536, top_logprobs: int = TOP_LOGPROBS) -> None:
        if concurrency < 1 or cache_size < 0 or not 0 <= top_logprobs <= 20:
            raise ValueError("need concurrency >= 1, cache_size >= 0 and top_logprobs from 0 to 20")
        self.client = ChatClient(base_url, api_key=api_key, timeout=timeout, retries=retries, backoff=backoff,
                                 max_backoff=max_backoff)
        self.base_url, self.model, self.concurrency = base_url, model or None, concurrency
        self.cache_size, self.top_logprobs = cache_size, top_logprobs
        self._setup()

    def _setup(self) -> None:
        self.stats = JudgeStats()
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("stats", "_cache", "_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    def __repr__(self) -> str:
        return f"JudgeScorer({self.client.url!r}, model={self.model!r})"

    def metadata(self) -> dict[str, Any]:
        """What identifies the verdicts: the endpoint and the model (None until resolved)."""
        return {"url": self.client.url, "model": self.model}

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(satisfied) per pair, in order; :class:`JudgeError` when any pair fails."""
        results = self.judge_pairs(pairs)
        failed = [r for r in results if isinstance(r, Failure)]
        if failed:
            first = failed[0]
            raise JudgeError(f"judge {self.client.url}: {len(failed)} of {len(results)} pair(s) got no verdict; "
                             f"first: {first.kind}: {first.message} ({first.attempts} attempt(s))")
        return [float(r) for r in results]  # type: ignore[arg-type]

    def judge_pairs(self, pairs: Sequence[tuple[str, str]],
                    on_result: Callable[[int, float | Failure], None] | None = None) -> list[float | Failure]:
        """A score or a :class:`Failure` per pair, in order; ``on_result(index, result)`` is called as each
        pair finishes (cache hits first), e.g. to write it out at once."""
        if not pairs:
            return []
        prompts = [judge_prompt(c, r) for c, r in pairs]
        emit = on_result or (lambda index, result: None)
        model = self.resolve_model()
        if isinstance(model, Failure):
            with self._lock:
                self.stats.failures += len(prompts)
            for index in range(len(prompts)):
                emit(index, model)
            return [model] * len(prompts)
        hits, todo = self._lookup(model, prompts)
        done: dict[int, float | Failure] = dict(hits)
        for index, score in hits.items():
            emit(index, score)
        unique = list(todo)
        for number, result in bounded_map(lambda p, stop: self._ask(model, p, stop), unique, self.concurrency,
                                          "ifverify-judge"):
            if not isinstance(result, Failure):
                self._store((model, unique[number]), result)
            for index in todo[unique[number]]:
                done[index] = result
                emit(index, result)
        return [done[i] for i in range(len(prompts))]

    def _lookup(self, model: str, prompts: Sequence[str]) -> tuple[dict[int, float], dict[str, list[int]]]:
        """(cached score per index, the indices of each distinct uncached prompt in first-seen order)."""
        hits: dict[int, float] = {}
        todo: dict[str, list[int]] = {}
        with self._lock:
            for index, prompt in enumerate(prompts):
                key = (model, prompt)
                if key in self._cache:
                    self._cache.move_to_end(key)
                    hits[index] = self._cache[key]
                else:
                    todo.setdefault(prompt, []).append(index)
            self.stats.cache_hits += len(hits)
        return hits, todo

    def _store(self, key: tuple[str, str], score: float) -> None:
        if not self.cache_size:
            return
        with self._lock:
            self._cache[key] = score
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def resolve_model(self) -> str | Failure:
        """The model name: as given, else the first id the endpoint's ``/models`` lists (asked once)."""
        if self.model:
            return self.model
        listing, attempts = self.client.get_models()
        if isinstance(listing, Failure):
            return Failure(listing.kind, f"no model given and {self.client.models_url} failed: {listing.message}",
                           attempts)
        try:
            model = listing["data"][0]["id"]
        except (KeyError, IndexError, TypeError):
            model = None
        if not isinstance(model, str) or not model:
            return Failure("bad_response", f"no model given and {self.client.models_url} lists none", attempts)
        self.model = model
        return model

    def _ask(self, model: str, prompt: str, stop: threading.Event) -> float | Failure:
        # Lone surrogates would be sent escaped, and a server's tokenizer may refuse them: read them as "?".
        payload: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": encodable(prompt)}],
                                   "max_tokens": 1, "temperature": 0.0}
        if self.top_logprobs:
            payload.update(logprobs=True, top_logprobs=self.top_logprobs)
        answer, attempts = self.client.post(payload, stop)
        result = answer if isinstance(answer, Failure) else self._verdict(answer, attempts)
        with self._lock:
            self.stats.requests += 1
            if isinstance(result, Failure):
                self.stats.failures += 1
        return result

    def _verdict(self, answer: Mapping[str, Any], attempts: int) -> float | Failure:
        top = first_token_top_logprobs(answer)
        score = p_yes(top) if top else None
        if score is not None:
            with self._lock:
                self.stats.logprob_verdicts += 1
            return score
        content = message_content(answer, attempts)
        if isinstance(content, Failure):
            return content
        score = text_verdict(content)
        if score is None:
            where = f" and neither is among its {len(top)} most likely first tokens" if top else ""
            return Failure("no_verdict", f"the judge answered {content[:60]!r}, not yes or no{where}", attempts)
        with self._lock:
            self.stats.text_verdicts += 1
        return score


# -- spec strings -----------------------------------------------------------------------------------------------
SPEC_PARAMS = ("model", "concurrency", "timeout", "retries", "api_key_env")
SPEC_FORM = f"{PREFIX}<base_url>[?model=<name>&concurrency=N&timeout=S&retries=N&api_key_env=VAR]"


def judge_from_spec(spec: str) -> JudgeScorer:
    """The :class:`JudgeScorer` a spec names (format :data:`SPEC_FORM`); ValueError naming the bad part."""
    if not isinstance(spec, str) or not spec.startswith(PREFIX):
        raise ValueError(f"a judge spec must start with {PREFIX!r}, got {spec!r}; expected {SPEC_FORM}")
    base, _, query = spec[len(PREFIX):].partition("?")
    if not base.strip():
        raise ValueError(f"judge spec {spec!r}: no base URL after {PREFIX!r}; expected {SPEC_FORM}")
    options = _spec_options(spec, query)
    api_key = None
    if "api_key_env" in options:
        variable = options.pop("api_key_env")
        api_key = os.environ.get(variable)
        if not api_key:
            raise ValueError(f"judge spec {spec!r}: api_key_env={variable}: the environment variable {variable} "
                             "is not set or empty")
    try:
        return JudgeScorer(base, api_key=api_key, **options)
    except ValueError as exc:
        raise ValueError(f"judge spec {spec!r}: {exc}") from None


def _spec_options(spec: str, query: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for part in query.split("&") if query else []:
        key, equals, raw = part.partition("=")
        if key not in SPEC_PARAMS:
            close = difflib.get_close_matches(key, SPEC_PARAMS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"judge spec {spec!r}: unknown parameter {key!r}{hint}; known: {', '.join(SPEC_PARAMS)}")
        if not equals or not raw:
            raise ValueError(f"judge spec {spec!r}: parameter {key!r} needs a value ({key}=...)")
        if key in options:
            raise ValueError(f"judge spec {spec!r}: parameter {key!r} is given twice")
        options[key] = _spec_value(spec, key, unquote(raw))
    return options


def _spec_value(spec: str, key: str, value: str) -> Any:
    if key in ("model", "api_key_env"):
        return value
    try:
        number: float = int(value) if key in ("concurrency", "retries") else float(value)
    except ValueError:
        number = math.nan
    low, kind = {"concurrency": (1, "an integer >= 1"), "retries": (0, "an integer >= 0")}.get(
        key, (0, "a number of seconds > 0"))
    if not number >= low or (key == "timeout" and (number <= 0 or math.isinf(number))):
        raise ValueError(f"judge spec {spec!r}: {key}={value!r}: expected {kind}")
    return number
