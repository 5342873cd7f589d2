"""A small OpenAI-compatible chat server for a local transformers model, so a judge runs without vLLM.

``ifverify serve-judge`` (or ``python -m ifverify.learned.judge_server``) serves the packaged
SmolLM2-135M-Instruct, a ``.gguf`` file or a local Hugging Face folder on
``POST /v1/chat/completions`` and lists it on ``GET /v1/models``.  What it implements, exactly:

- ``messages`` (a non-empty list of ``{"role": "system"|"user"|"assistant", "content": str}``) go through
  the tokenizer's chat template with the generation prompt; without a template the contents are joined
  by newlines;
- ``max_tokens`` (default 16, at most 4096); ``temperature`` (default 1.0 as in OpenAI's API; 0 is greedy,
  above 0 samples the raw distribution scaled by it, top-k/top-p off, under ``seed`` (default 0) in a
  forked generator, so it is reproducible and leaves the global one alone);
- ``logprobs: true`` returns ``choices[0].logprobs.content``: per generated token its text, log
  probability and, with ``top_logprobs: k`` (0..20), the k most likely tokens of that step, all from the
  model's unprocessed logits (log-softmax in float32);
- ``finish_reason`` is ``stop`` when an end-of-sequence token ended the answer (it is not part of the
  content or the logprobs), else ``length``;
- ``n`` other than 1, ``stream: true`` and malformed fields are a 400 with an OpenAI-style error object,
  a body over 16 MiB a 413; unknown fields are ignored.  The ``model`` field is not checked (one model is served).

Requests are answered one at a time (a lock around the model); the HTTP side is threaded.  It binds
127.0.0.1 by default and has no authentication: it is for local use.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click

MAX_TOKENS_LIMIT = 4096
TOP_LOGPROBS_LIMIT = 20
MAX_BODY = 16 * 1024 * 1024
ROLES = ("system", "user", "assistant")


class RequestError(ValueError):
    """A bad request: answered with HTTP 400 and this message."""


class ChatModel:
    """A causal LM and its tokenizer answering chat requests (see the module docstring)."""

    def __init__(self, model: Any, tokenizer: Any, name: str, *, threads: int | None = 1) -> None:
        self.model, self.tokenizer, self.name, self.threads = model, tokenizer, name, threads
        self.model.eval()
        self.templated = bool(getattr(tokenizer, "chat_template", None))
        eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        if eos is None:
            eos = tokenizer.eos_token_id
        self.eos_ids = frozenset(eos if isinstance(eos, list) else [] if eos is None else [eos])
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(self.eos_ids), 0)
        self.lock = threading.Lock()

    def render(self, messages: Sequence[Mapping[str, str]]) -> str:
        if not self.templated:
            return "\n".join(m["content"] for m in messages)
        return str(self.tokenizer.apply_chat_template([dict(m) for m in messages], add_generation_prompt=True,
                                                      tokenize=False))

    def complete(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The chat completion object answering a request body; :class:`RequestError` when it is malformed."""
        parsed = parse_request(request)
        text = self.render(parsed["messages"])
        with self.lock:
            tokens, steps = self._generate(text, parsed)
        finished = bool(tokens) and tokens[-1] in self.eos_ids
        content_ids = tokens[:-1] if finished else tokens
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": self.tokenizer.decode(
            content_ids, skip_special_tokens=True)}, "finish_reason": "stop" if finished else "length"}
        if parsed["logprobs"]:
            choice["logprobs"] = {"content": [self._token_entry(token, step, parsed["top_logprobs"])
                                              for token, step in zip(content_ids, steps, strict=False)]}
        else:
            choice["logprobs"] = None
        prompt_tokens = self._prompt_length(text)
        return {"id": f"chatcmpl-{time.time_ns():x}", "object": "chat.completion", "created": int(time.time()),
                "model": self.name, "choices": [choice],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
                          "total_tokens": prompt_tokens + len(tokens)}}

    def _prompt_length(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=not self.templated)["input_ids"])

    def _generate(self, text: str, parsed: Mapping[str, Any]) -> tuple[list[int], list[Any]]:
        """(new token ids, per step the log-softmax of the raw logits)."""
        import torch

        encoded = self.tokenizer(text, return_tensors="pt", add_special_tokens=not self.templated)
        sample = parsed["temperature"] > 0
        kwargs: dict[str, Any] = {"max_new_tokens": parsed["max_tokens"], "do_sample": sample,
                                  "pad_token_id": self.pad_id, "output_logits": True,
                                  "return_dict_in_generate": True}
        if sample:
            kwargs.update(temperature=parsed["temperature"], top_k=0, top_p=1.0)
        else:
            kwargs.update(temperature=None, top_k=None, top_p=None)
        previous = torch.get_num_threads()
        try:
            if self.threads is not None:
                torch.set_num_threads(self.threads)
            with torch.inference_mode(), torch.random.fork_rng(devices=[], enabled=sample):
                if sample:
                    torch.manual_seed(parsed["seed"])
                output = self.model.generate(**encoded, **kwargs)
        finally:
            torch.set_num_threads(previous)
        new = output.sequences[0, encoded["input_ids"].shape[1]:].tolist()
        steps = [torch.log_softmax(step[0].float(), dim=-1) for step in output.logits]
        return new, steps

    def _token_entry(self, token: int, logprobs: Any, k: int) -> dict[str, Any]:
        import torch

        entry = self._describe(token, float(logprobs[token]))
        if k:
            values, ids = torch.topk(logprobs, min(k, logprobs.shape[0]))
            entry["top_logprobs"] = [self._describe(int(i), float(v)) for v, i in zip(values, ids, strict=True)]
        else:
            entry["top_logprobs"] = []
        return entry

    def _describe(self, token: int, logprob: float) -> dict[str, Any]:
        text = self.tokenizer.decode([token])
        return {"token": text, "logprob": logprob, "bytes": list(text.encode("utf-8"))}


def parse_request(body: Any) -> dict[str, Any]:
    """The fields of a chat request the server uses, checked (rules in the module docstring)."""
    if not isinstance(body, Mapping):
        raise RequestError("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list")
    for number, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in ROLES \
                or not isinstance(message.get("content"), str):
            raise RequestError(f"messages[{number}] must be {{'role': one of {list(ROLES)}, 'content': a string}}")
    if body.get("stream"):
        raise RequestError("streaming is not supported; send 'stream': false")
    if body.get("n", 1) != 1:
        raise RequestError(f"'n' must be 1, got {body.get('n')!r}")
    return {"messages": messages,
            "max_tokens": _integer(body, "max_tokens", 16, 1, MAX_TOKENS_LIMIT),
            "temperature": _number(body, "temperature", 1.0),
            "seed": _integer(body, "seed", 0, -(2**63), 2**63 - 1),
            "logprobs": _flag(body, "logprobs"),
            "top_logprobs": _top_logprobs(body)}


def _integer(body: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(f"'{name}' must be an integer from {low} to {high}, got {value!r}")
    return value


def _number(body: Mapping[str, Any], name: str, default: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise RequestError(f"'{name}' must be a number from 0 to 100, got {value!r}")
    return float(value)


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise RequestError(f"'{name}' must be true or false, got {value!r}")
    return bool(value)


def _top_logprobs(body: Mapping[str, Any]) -> int:
    k = _integer(body, "top_logprobs", 0, 0, TOP_LOGPROBS_LIMIT)
    if k and not body.get("logprobs"):
        raise RequestError("'top_logprobs' needs 'logprobs': true")
    return k


class ChatServer(ThreadingHTTPServer):
    """The HTTP server around one :class:`ChatModel`; ``url`` is its ``/v1`` base."""

    daemon_threads = True

    def __init__(self, chat_model: ChatModel, host: str = "127.0.0.1", port: int = 0,
                 handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        super().__init__((host, port), handler or ChatHandler)
        self.chat_model = chat_model

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        return f"http://{host}:{port}/v1"


class ChatHandler(BaseHTTPRequestHandler):
    """``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``; errors as OpenAI error objects."""

    server: ChatServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": self.server.chat_model.name, "object": "model",
                                                            "owned_by": "ifverify"}]})
        elif self.path.rstrip("/") == "/health":
            self.send_json(200, {"status": "ok"})
        else:
            self.send_error_json(404, f"no route {self.path}")

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length > MAX_BODY:
            self.close_connection = True  # the body is not read
            return self.send_error_json(413, f"the request body is over {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length > 0 else b""
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self.send_error_json(404, f"no route {self.path}")
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_error_json(400, "the request body is not JSON")
        try:
            answer = self.answer(body)
        except RequestError as exc:
            return self.send_error_json(400, str(exc))
        except Exception as exc:  # a model failure is the server's error, not the client's
            return self.send_error_json(500, f"{type(exc).__name__}: {exc}", "server_error")
        self.send_json(200, answer)

    def answer(self, body: Any) -> dict[str, Any]:
        """The completion for a decoded request body (tests override this to misbehave)."""
        return self.server.chat_model.complete(body)

    def send_json(self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def send_error_json(self, status: int, message: str, kind: str = "invalid_request_error",
                        headers: Mapping[str, str] | None = None) -> None:
        self.send_json(status, {"error": {"message": message, "type": kind}}, headers)


def load_chat_model(model: str | None, *, threads: int | None = 1, name: str | None = None) -> ChatModel:
    """A :class:`ChatModel` from the packaged SmolLM2 (``None``), a ``.gguf`` file or a local folder."""
    from ifverify.models import load_local_model

    loaded, tokenizer, default_name = load_local_model(model)
    return ChatModel(loaded, tokenizer, name or default_name, threads=threads)


@click.command("serve-judge")
@click.option("--model", metavar="PATH", default=None,
              help="A local model folder or .gguf file (default: the packaged SmolLM2-135M-Instruct).")
@click.option("--name", default=None, help="The model name to report (default: from the model path).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1), help="torch threads.")
def serve_judge(model: str | None, name: str | None, host: str, port: int, threads: int) -> None:
    """Serve a local model on an OpenAI-compatible /v1/chat/completions with logprobs (for `judge:` scorers).

    Greedy at temperature 0, one request at a time, no authentication: for local use.
    """
    from ifverify.models import MissingDependencyError

    try:
        chat_model = load_chat_model(model, threads=threads, name=name)
    except MissingDependencyError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot load the model {model or '(packaged SmolLM2)'}: {exc}") from None
    try:
        server = ChatServer(chat_model, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"serving {chat_model.name} on {server.url}/chat/completions (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    serve_judge()
