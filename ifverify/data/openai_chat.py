"""The OpenAI-compatible backend: ``POST {base}/v1/chat/completions`` on any such server (vLLM, llama.cpp,
TGI, a hosted API), with bounded concurrency and retries, on the standard library only."""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ifverify import __version__
from ifverify.data.generate import Failure, Generator

#: Status codes worth another attempt: rate limiting and server errors.
RETRY_STATUS = frozenset({429}) | frozenset(range(500, 600))


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


class OpenAIChatGenerator(Generator):
    """Chat completions from an OpenAI-compatible server.

    Each prompt is one user message; the request carries ``model``, ``max_tokens`` (= ``max_new_tokens``),
    ``temperature`` and, when sampling, ``seed``.  ``concurrency`` worker threads send requests; at most
    ``2 * concurrency`` rows are queued, so an interruption abandons little.

    Retries: a connection error, a timeout (``timeout`` seconds per attempt), HTTP 429 or 5xx is tried
    again up to ``retries`` more times.  The wait before attempt n+1 is ``Retry-After`` when the server
    sends it (capped at ``max_backoff``), else ``min(max_backoff, backoff * 2**(n-1))`` times a jitter in
    [0.5, 1) drawn from a private ``random.Random(seed)``.  Any other 4xx and an unreadable answer fail at
    once.  Failures come back as :class:`Failure` (kinds ``http_error``, ``timeout``, ``connection_error``,
    ``bad_response``), never as exceptions.
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
        self.url = chat_url(base_url)
        self.model, self.api_key = model, api_key
        self.max_new_tokens, self.temperature, self.seed = max_new_tokens, temperature, seed
        self.concurrency, self.timeout, self.retries = concurrency, timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    def metadata(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature, "seed": self.seed}

    def generate(self, prompts: Sequence[str]) -> Iterator[tuple[int, str | Failure]]:
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ifverify-openai")
        pending: dict[Future[str | Failure], int] = {}
        queue = iter(range(len(prompts)))
        try:
            while True:
                while len(pending) < 2 * self.concurrency:
                    index = next(queue, None)
                    if index is None:
                        break
                    pending[pool.submit(self.complete, prompts[index], stop)] = index
                if not pending:
                    return
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=pending.__getitem__):
                    yield pending.pop(future), future.result()
        finally:
            stop.set()  # abandoned rows stop retrying; requests in flight end within their timeout
            pool.shutdown(wait=False, cancel_futures=True)

    def complete(self, prompt: str, stop: threading.Event | None = None) -> str | Failure:
        """One prompt's response or Failure, after the retries described in the class docstring."""
        stop = stop or threading.Event()
        payload: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                                   "max_tokens": self.max_new_tokens, "temperature": self.temperature}
        if self.temperature > 0:
            payload["seed"] = self.seed
        body = json.dumps(payload).encode("utf-8")
        attempt = 0
        while True:
            attempt += 1
            result, retry, retry_after = self._attempt(body, attempt)
            if not retry or attempt > self.retries or stop.is_set():
                return result
            if stop.wait(self._delay(attempt, retry_after)):
                return result

    def _attempt(self, body: bytes, attempt: int) -> tuple[str | Failure, bool, float | None]:
        """(answer or failure, whether to retry, Retry-After seconds) for one request."""
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"ifverify/{__version__}"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
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
            return Failure("connection_error", f"{self.url}: {exc.reason}", attempt), True, None
        except (OSError, http.client.HTTPException) as exc:
            return Failure("connection_error", f"{self.url}: {type(exc).__name__}: {exc}", attempt), True, None
        return _content(raw, attempt), False, None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        with self._rng_lock:
            jitter = 0.5 + self._rng.random() / 2
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * jitter


def _content(raw: bytes, attempt: int) -> str | Failure:
    """``choices[0].message.content`` of a chat completion, or a ``bad_response`` Failure."""
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return Failure("bad_response", f"no choices[0].message.content ({type(exc).__name__}): {_snippet(raw)}",
                       attempt)
    if not isinstance(content, str):
        return Failure("bad_response", f"message content is {type(content).__name__}, not a string", attempt)
    return content


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."
