"""The OpenAI-compatible client: ``POST {base}/v1/chat/completions`` on any such server (vLLM, llama.cpp,
TGI, a hosted API), with bounded concurrency and retries, on the standard library only.

:class:`ChatClient` sends one request with retries; :func:`bounded_map` runs many with bounded
concurrency; :class:`OpenAIChatGenerator` is the response backend built on both, and
:mod:`ifverify.learned.judge` is the LLM judge built on both.  :func:`first_token_top_logprobs` reads
the ``logprobs`` block of an answer.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from ifverify import __version__
from ifverify.data.generator_base import Failure, Generator

#: Status codes worth another attempt: rate limiting and server errors.
RETRY_STATUS = frozenset({429}) | frozenset(range(500, 600))

T = TypeVar("T")
R = TypeVar("R")


def chat_url(base_url: str) -> str:
    """The endpoint for ``base_url``: kept when it ends in ``/chat/completions``, ``/chat/completions``
    appended when it ends in ``/v1``, else ``/v1/chat/completions`` appended."""
    base = base_url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"base URL must start with http:// or https://, got {base_url!r}")
    if base.endswith("/chat/completions"):
        return base
    return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None when absent or
    unreadable; never negative."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ChatClient:
    """One OpenAI-compatible chat endpoint: :meth:`post` sends a JSON body and returns the decoded answer.

    Retries: a connection error, a timeout (``timeout`` seconds per attempt), HTTP 429 or 5xx is tried
    again up to ``retries`` more times.  The wait before attempt n+1 is ``Retry-After`` when the server
    sends it (capped at ``max_backoff``), else ``min(max_backoff, backoff * 2**(n-1))`` times a jitter in
    [0.5, 1) drawn from a private ``random.Random(seed)``.  Any other 4xx and an answer that is not a JSON
    object fail at once.  Failures come back as :class:`Failure` (kinds ``http_error``, ``timeout``,
    ``connection_error``, ``bad_response``), never as exceptions.  Thread-safe.
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 60.0, retries: int = 4,
                 backoff: float = 1.0, max_backoff: float = 60.0, seed: int = 0) -> None:
        if retries < 0 or timeout <= 0 or backoff < 0 or max_backoff < 0:
            raise ValueError("need retries >= 0, timeout > 0, backoff >= 0 and max_backoff >= 0")
        self.url = chat_url(base_url)
        self.api_key, self.timeout, self.retries = api_key, timeout, retries
        self.backoff, self.max_backoff, self.seed = backoff, max_backoff, seed
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_rng_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rng_lock = threading.Lock()

    @property
    def models_url(self) -> str:
        """``GET`` here lists the served models (``{"data": [{"id": ...}, ...]}``)."""
        return self.url[: -len("/chat/completions")] + "/models"

    def post(self, payload: Mapping[str, Any],
             stop: threading.Event | None = None) -> tuple[dict[str, Any] | Failure, int]:
        """(the answer object or the last Failure, attempts made) for one chat request."""
        return self._with_retries(self.url, json.dumps(payload).encode("utf-8"), stop)

    def get_models(self) -> tuple[dict[str, Any] | Failure, int]:
        """(the ``/models`` listing or the last Failure, attempts made)."""
        return self._with_retries(self.models_url, None, None)

    def _with_retries(self, url: str, body: bytes | None,
                      stop: threading.Event | None) -> tuple[dict[str, Any] | Failure, int]:
        stop = stop or threading.Event()
        attempt = 0
        while True:
            attempt += 1
            result, retry, retry_after = self._attempt(url, body, attempt)
            if not retry or attempt > self.retries or stop.is_set():
                return result, attempt
            if stop.wait(self._delay(attempt, retry_after)):
                return result, attempt

    def _attempt(self, url: str, body: bytes | None,
                 attempt: int) -> tuple[dict[str, Any] | Failure, bool, float | None]:
        """(answer or failure, whether to retry, Retry-After seconds) for one request."""
        headers = {"Accept": "application/json", "User-Agent": f"ifverify/{__version__}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=body, headers=headers, method="GET" if body is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            detail = _snippet(exc.read() if exc.fp is not None else b"")
            failure = Failure("http_error", f"HTTP {exc.code} {exc.reason}: {detail}".rstrip(": "), attempt)
            return failure, exc.code in RETRY_STATUS, parse_retry_after(exc.headers.get("Retry-After"))
        except TimeoutError:
            return Failure("timeout", f"no answer within {self.timeout:g} s", attempt), True, None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return Failure("timeout", f"no answer within {self.timeout:g} s", attempt), True, None
            return Failure("connection_error", f"{url}: {exc.reason}", attempt), True, None
        except (OSError, http.client.HTTPException) as exc:
            return Failure("connection_error", f"{url}: {type(exc).__name__}: {exc}", attempt), True, None
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            return Failure("bad_response", f"not JSON ({type(exc).__name__}): {_snippet(raw)}", attempt), False, None
        if not isinstance(decoded, dict):
            return Failure("bad_response", f"not a JSON object: {_snippet(raw)}", attempt), False, None
        return decoded, False, None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        with self._rng_lock:
            jitter = 0.5 + self._rng.random() / 2
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * jitter


def bounded_map(func: Callable[[T, threading.Event], R], items: Sequence[T], concurrency: int,
                name: str = "ifverify-http") -> Iterator[tuple[int, R]]:
    """``(index, func(items[index], stop))`` for every item, yielded as each finishes (in index order among
    those finishing together), on ``concurrency`` threads with at most ``2 * concurrency`` queued, so an
    interruption abandons little.  Closing the iterator early sets ``stop`` for the calls in flight."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
    pending: dict[Future[R], int] = {}
    queue = iter(range(len(items)))
    try:
        while True:
            while len(pending) < 2 * concurrency:
                index = next(queue, None)
                if index is None:
                    break
                pending[pool.submit(func, items[index], stop)] = index
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=pending.__getitem__):
                yield pending.pop(future), future.result()
    finally:
        stop.set()  # abandoned rows stop retrying; requests in flight end within their timeout
        pool.shutdown(wait=False, cancel_futures=True)


class OpenAIChatGenerator(Generator):
    """Chat completions from an OpenAI-compatible server.

    Each prompt is one user message; the request carries ``model``, ``max_tokens`` (= ``max_new_tokens``),
    ``temperature`` and, when sampling, ``seed``.  ``concurrency`` worker threads send requests
    (:func:`bounded_map`), each through a :class:`ChatClient` (its docstring gives the retry rules).  An
    answer without a string ``choices[0].message.content`` is a ``bad_response`` Failure.
    """

    backend = "openai"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, max_new_tokens: int = 256,
                 temperature: float = 0.0, seed: int = 0, concurrency: int = 8, timeout: float = 60.0,
                 retries: int = 4, backoff: float = 1.0, max_backoff: float = 60.0) -> None:
        if concurrency < 1 or retries < 0 or timeout <= 0 or max_new_tokens < 1 or temperature < 0:
            raise ValueError("need concurrency >= 1, retries >= 0, timeout > 0, max_new_tokens >= 1, "
                             "temperature >= 0")
        if not model:
            raise ValueError("the OpenAI backend needs a model name")
        self.client = ChatClient(base_url, api_key=api_key, timeout=timeout, retries=retries, backoff=backoff,
                                 max_backoff=max_backoff, seed=seed)
        self.url, self.model = self.client.url, model
        self.max_new_tokens, self.temperature, self.seed = max_new_tokens, temperature, seed
        self.concurrency = concurrency

    def metadata(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature, "seed": self.seed}

    def generate(self, prompts: Sequence[str]) -> Iterator[tuple[int, str | Failure]]:
        return bounded_map(self.complete, prompts, self.concurrency, "ifverify-openai")

    def complete(self, prompt: str, stop: threading.Event | None = None) -> str | Failure:
        """One prompt's response or Failure, after the retries described in :class:`ChatClient`."""
        payload: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                                   "max_tokens": self.max_new_tokens, "temperature": self.temperature}
        if self.temperature > 0:
            payload["seed"] = self.seed
        answer, attempts = self.client.post(payload, stop)
        return answer if isinstance(answer, Failure) else message_content(answer, attempts)


def message_content(answer: Mapping[str, Any], attempts: int = 1) -> str | Failure:
    """``choices[0].message.content`` of a chat completion, or a ``bad_response`` Failure."""
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        return Failure("bad_response", f"no choices[0].message.content ({type(exc).__name__}): "
                       f"{_snippet(json.dumps(answer).encode())}", attempts)
    if not isinstance(content, str):
        return Failure("bad_response", f"message content is {type(content).__name__}, not a string", attempts)
    return content


def first_token_top_logprobs(answer: Mapping[str, Any]) -> list[tuple[str, float]] | None:
    """``(token, logprob)`` of ``choices[0].logprobs.content[0].top_logprobs`` (the OpenAI chat layout), in
    the server's order; None when the answer carries no such list (the server ignored ``logprobs``).
    Entries without a string token or a finite-or-minus-infinity number logprob are skipped."""
    try:
        top = answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(top, list):
        return None
    out: list[tuple[str, float]] = []
    for entry in top:
        token = entry.get("token") if isinstance(entry, dict) else None
        logprob = entry.get("logprob") if isinstance(entry, dict) else None
        if isinstance(token, str) and isinstance(logprob, int | float) and not isinstance(logprob, bool) \
                and logprob == logprob and logprob != float("inf"):
            out.append((token, float(logprob)))
    return out


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."
