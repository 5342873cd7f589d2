"""Helpers for the judge tests: a tiny chat model whose next-token distribution is chosen exactly, and a
real :class:`ifverify.learned.judge_server.ChatServer` running it on a thread."""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from _tiny_models import byte_level_chat_tokenizer

from ifverify.learned.judge_server import ChatHandler, ChatModel, ChatServer

#: Whole-word tokens of the tiny vocabulary (byte-level BPE, "Ġ" is a leading space), and the merges making them.
WORDS = ("yes", "Yes", "YES", "Ġyes", "ĠYes", "no", "No", "NO", "Ġno", "ĠNo", "maybe")
#: The logit of every token not named in a model's ``logits``.
FLOOR = -20.0


def _merges(words: tuple[str, ...]) -> list[tuple[str, str]]:
    """Left-to-right merges building each word (``Ġ`` attached last), without repeats."""
    merges: list[tuple[str, str]] = []
    for word in words:
        body = word[1:] if word.startswith("Ġ") else word
        for end in range(2, len(body) + 1):
            pair = (body[:end - 1], body[end - 1])
            if pair not in merges:
                merges.append(pair)
        if word.startswith("Ġ") and ("Ġ", body) not in merges:
            merges.append(("Ġ", body))
    return merges


def yes_no_model(logits: Mapping[str, float], name: str = "tiny-judge") -> ChatModel:
    """A ChatModel whose every next-token logit is fixed: ``logits[token]`` for the named tokens (vocabulary
    strings, e.g. ``"ĠYes"``), :data:`FLOOR` for the rest.  The output head is a zero-weight linear layer with
    that bias, so the distribution is the same at every position whatever the input."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = byte_level_chat_tokenizer(_merges(WORDS))
    vocab = tokenizer.get_vocab()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    head = torch.nn.Linear(config.hidden_size, config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(FLOOR)
        for token, value in logits.items():
            head.bias[vocab[token]] = value
    model.lm_head = head
    return ChatModel(model, tokenizer, name)


def expected_p_yes(logits: Mapping[str, float]) -> float:
    """The exact P(yes)/(P(yes)+P(no)) of a :func:`yes_no_model`, computed from its logits alone."""
    yes = sum(math.exp(v) for t, v in logits.items() if t.lstrip("Ġ").lower() == "yes")
    no = sum(math.exp(v) for t, v in logits.items() if t.lstrip("Ġ").lower() == "no")
    return yes / (yes + no)


class RecordingHandler(ChatHandler):
    """The real handler, recording each request body (``server.bodies``) and the most requests in flight."""

    def answer(self, body: Any) -> dict[str, Any]:
        server: Any = self.server
        with server.record_lock:
            server.bodies.append(body)
            server.active += 1
            server.max_active = max(server.max_active, server.active)
        try:
            return super().answer(body)
        finally:
            with server.record_lock:
                server.active -= 1


@contextlib.contextmanager
def running(chat_model: ChatModel, handler: type[ChatHandler] = RecordingHandler) -> Iterator[ChatServer]:
    """A ChatServer on a free local port, serving on a thread until the block ends."""
    server = ChatServer(chat_model, handler=handler)
    server.bodies, server.active, server.max_active = [], 0, 0  # type: ignore[attr-defined]
    server.record_lock = threading.Lock()  # type: ignore[attr-defined]
    server.posts = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def post(url: str, body: Any) -> dict[str, Any]:
    """POST JSON to ``url`` and decode the JSON answer (HTTP errors raise)."""
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)
