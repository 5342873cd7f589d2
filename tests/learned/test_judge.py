"""The LLM judge scorer: reading P(yes), the spec string, and the HTTP protocol against a real local chat
server running a tiny model whose next-token distribution is fixed (so every expected score is exact)."""

from __future__ import annotations

import contextlib
import math
import pickle
import socket
import threading
import time
from typing import Any

import pytest
from _judge_support import FLOOR, RecordingHandler, expected_p_yes, post, running, yes_no_model

from ifverify.data.generator_base import Failure
from ifverify.learned.judge import (
    QUESTION,
    JudgeError,
    JudgeScorer,
    judge_from_spec,
    judge_prompt,
    p_yes,
    text_verdict,
)

LEANS_YES = {"Yes": 2.0, "Ġyes": 1.0, "YES": -1.0, "No": 1.5, "Ġno": -0.5}
PAIRS = [("Write for children.", "Once upon a time."), ("Use a formal tone.", "hey wassup")]


@pytest.fixture(scope="module")
def leaning_yes() -> Any:
    return yes_no_model(LEANS_YES)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- pure pieces -----------------------------------------------------------------------------------------------
def test_p_yes__sums_case_and_space_variants() -> None:
    top = [("Yes", math.log(0.5)), (" yes", math.log(0.1)), ("YES\n", math.log(0.1)), ("No", math.log(0.2)),
           (" no", math.log(0.05)), ("Maybe", math.log(0.05))]
    assert p_yes(top) == pytest.approx(0.7 / 0.95)


def test_p_yes__none_without_yes_or_no_and_extremes() -> None:
    assert p_yes([("Sure", -0.1), ("Nope", -1.0), ("yesterday", -2.0)]) is None
    assert p_yes([]) is None
    assert p_yes([("no", -0.1), ("yes", -math.inf)]) == 0.0
    assert p_yes([("yes", -3.0)]) == 1.0


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("Yes", 1.0, id="yes"), pytest.param(" no.", 0.0, id="no_with_space_and_period"),
    pytest.param("**YES**, it does", 1.0, id="markdown_bold"), pytest.param("No, because", 0.0, id="no_comma"),
    pytest.param("Nope", None, id="nope_is_not_no"), pytest.param("yesterday", None, id="prefix_is_not_yes"),
    pytest.param("", None, id="empty"), pytest.param("Maybe yes", None, id="yes_not_first"),
])
def test_text_verdict(text: str, expected: float | None) -> None:
    assert text_verdict(text) == expected


def test_judge_prompt_ends_with_the_question() -> None:
    prompt = judge_prompt("Be brief.", "Ok.")
    assert prompt == f"Constraint: Be brief.\n\nResponse:\nOk.\n\n{QUESTION}"


# -- spec strings ----------------------------------------------------------------------------------------------
def test_spec__all_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IFV_JUDGE_KEY", "sk-judge")
    scorer = judge_from_spec("judge:http://h:9/v1?model=Qwen%2FQwen2.5-7B&concurrency=3&timeout=2.5&retries=1"
                             "&api_key_env=IFV_JUDGE_KEY")
    assert (scorer.client.url, scorer.model, scorer.concurrency) == ("http://h:9/v1/chat/completions",
                                                                     "Qwen/Qwen2.5-7B", 3)
    assert (scorer.client.timeout, scorer.client.retries, scorer.client.api_key) == (2.5, 1, "sk-judge")
    assert scorer.threshold == 0.5
    plain = judge_from_spec("judge:https://api.example.com")
    assert (plain.client.url, plain.model, plain.concurrency) == ("https://api.example.com/v1/chat/completions",
                                                                  None, 8)


@pytest.mark.parametrize(("spec", "message"), [
    pytest.param("http://h/v1", "must start with 'judge:'", id="no_prefix"),
    pytest.param("judge:", "no base URL after 'judge:'", id="no_url"),
    pytest.param("judge:h:8000", "base URL must start with http:// or https://", id="no_scheme"),
    pytest.param("judge:http://h?modle=x", "unknown parameter 'modle' (did you mean 'model'?)", id="typo"),
    pytest.param("judge:http://h?concurrency=0", "concurrency='0': expected an integer >= 1", id="concurrency_0"),
    pytest.param("judge:http://h?concurrency=2.5", "concurrency='2.5': expected an integer >= 1", id="float"),
    pytest.param("judge:http://h?timeout=-1", "timeout='-1': expected a number of seconds > 0", id="timeout"),
    pytest.param("judge:http://h?timeout=nan", "timeout='nan'", id="timeout_nan"),
    pytest.param("judge:http://h?retries=-1", "retries='-1': expected an integer >= 0", id="retries"),
    pytest.param("judge:http://h?model", "parameter 'model' needs a value", id="no_value"),
    pytest.param("judge:http://h?model=a&model=b", "parameter 'model' is given twice", id="twice"),
    pytest.param("judge:http://h?api_key_env=IFV_SURELY_UNSET", "the environment variable IFV_SURELY_UNSET is not "
                 "set", id="unset_key"),
])
def test_spec__errors_name_the_bad_part(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        judge_from_spec(spec)
    assert message in str(info.value)
    if spec.startswith("judge:"):
        assert repr(spec) in str(info.value)


# -- against the local chat server -----------------------------------------------------------------------------
def test_server__logprobs_are_the_model_log_softmax(leaning_yes: Any) -> None:
    import torch

    with running(leaning_yes) as server:
        answer = post(server.url + "/chat/completions", {
            "messages": [{"role": "user", "content": "Is it?"}], "max_tokens": 2, "temperature": 0,
            "logprobs": True, "top_logprobs": 4})
    choice = answer["choices"][0]
    first = choice["logprobs"]["content"][0]
    reference = torch.log_softmax(torch.tensor([*LEANS_YES.values(), FLOOR]), dim=0)
    assert [e["token"] for e in first["top_logprobs"]] == ["Yes", "No", " yes", " no"]
    assert [e["logprob"] for e in first["top_logprobs"]] == pytest.approx(
        [float(reference[i]) for i in (0, 3, 1, 4)], abs=1e-3)  # the floor tokens shift the sum a little
    assert choice["message"]["content"] == "YesYes" and choice["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 2 and answer["model"] == "tiny-judge"


def test_server__bad_requests_are_400(leaning_yes: Any) -> None:
    import urllib.error

    with running(leaning_yes) as server:
        for body, message in [({"messages": []}, "'messages' must be a non-empty list"),
                              ({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3},
                               "'top_logprobs' needs 'logprobs': true"),
                              ({"messages": [{"role": "user", "content": "x"}], "stream": True}, "streaming"),
                              ({"messages": [{"role": "bot", "content": "x"}]}, "messages[0] must be")]:
            with pytest.raises(urllib.error.HTTPError) as info:
                post(server.url + "/chat/completions", body)
            assert info.value.code == 400 and message in info.value.read().decode()


def test_judge__reads_p_yes_from_logprobs_with_the_documented_request(leaning_yes: Any) -> None:
    with running(leaning_yes) as server:
        scorer = JudgeScorer(server.url, "served-name", concurrency=2)
        scores = scorer.score_pairs(PAIRS)
        bodies = list(server.bodies)  # type: ignore[attr-defined]
    assert scores == pytest.approx([expected_p_yes(LEANS_YES)] * 2, rel=1e-5)
    assert sorted(b["messages"][0]["content"] for b in bodies) == sorted(judge_prompt(c, r) for c, r in PAIRS)
    assert {k: v for k, v in bodies[0].items() if k != "messages"} == {
        "model": "served-name", "max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": 20}
    assert scorer.stats.to_dict() == {"requests": 2, "cache_hits": 0, "logprob_verdicts": 2, "text_verdicts": 0,
                                      "failures": 0}


def test_judge__sends_lone_surrogates_as_question_marks(leaning_yes: Any) -> None:
    with running(leaning_yes) as server:
        scores = JudgeScorer(server.url, "served-name").score_pairs([("Be funny \ud800.", "Ha \udfff.")])
        bodies = list(server.bodies)  # type: ignore[attr-defined]
    assert scores == pytest.approx([expected_p_yes(LEANS_YES)], rel=1e-5)
    assert [b["messages"][0]["content"] for b in bodies] == [judge_prompt("Be funny ?.", "Ha ?.")]


def test_judge__model_defaults_to_the_first_served_model(leaning_yes: Any) -> None:
    with running(leaning_yes) as server:
        scorer = judge_from_spec(f"judge:{server.url}")
        scorer.score_pairs(PAIRS[:1])
        assert server.bodies[0]["model"] == "tiny-judge" and scorer.model == "tiny-judge"  # type: ignore[attr-defined]


def test_judge__cache_by_model_and_prompt_is_bounded(leaning_yes: Any) -> None:
    pairs = [("c", f"response {i}") for i in range(3)]
    with running(leaning_yes) as server:
        scorer = JudgeScorer(server.url, "m", cache_size=2)
        first = scorer.score_pairs([pairs[0], pairs[0], pairs[1]])  # a repeat in one batch is asked once
        assert len(server.bodies) == 2  # type: ignore[attr-defined]
        assert scorer.score_pairs([pairs[1], pairs[0]]) == [first[2], first[0]]
        assert len(server.bodies) == 2 and scorer.stats.cache_hits == 2  # type: ignore[attr-defined]
        scorer.score_pairs([pairs[2]])  # evicts pairs[1], the least recently used
        scorer.score_pairs([pairs[0], pairs[1]])
        assert len(server.bodies) == 4  # type: ignore[attr-defined]
        scorer.model = "another"
        scorer.score_pairs([pairs[0]])
        assert len(server.bodies) == 5  # type: ignore[attr-defined]


def test_judge__concurrency_is_bounded(leaning_yes: Any) -> None:
    pairs_in_flight = threading.Barrier(2, timeout=5)

    active = [0, 0]  # now, most
    lock = threading.Lock()

    class Slow(RecordingHandler):
        def answer(self, body: Any) -> dict[str, Any]:
            with lock:
                active[0] += 1
                active[1] = max(active)
            with contextlib.suppress(threading.BrokenBarrierError):
                pairs_in_flight.wait()  # two requests meet here, so both are in flight together
            time.sleep(0.1)  # room for a third, were the bound broken
            with lock:
                active[0] -= 1
            return super().answer(body)

    with running(leaning_yes, Slow) as server:
        JudgeScorer(server.url, "m", concurrency=2).score_pairs([("c", str(i)) for i in range(8)])
        assert active[1] == 2 and len(server.bodies) == 8  # type: ignore[attr-defined]


def _flaky_handler(*statuses: tuple[int, dict[str, str]]) -> type[RecordingHandler]:
    """A handler answering the n-th POST with ``statuses[n]`` (an error) while there is one, then for real."""

    class Flaky(RecordingHandler):
        def do_POST(self) -> None:
            server: Any = self.server
            with server.record_lock:
                server.posts += 1
                attempt = server.posts
            if attempt <= len(statuses):
                self.rfile.read(int(self.headers["Content-Length"]))
                code, headers = statuses[attempt - 1]
                return self.send_error_json(code, f"status {code}", headers=headers)
            return super().do_POST()

    return Flaky


def test_judge__retries_429_honouring_retry_after(leaning_yes: Any) -> None:
    limited = (429, {"Retry-After": "0"})
    with running(leaning_yes, _flaky_handler(limited, limited)) as server:
        # a 60 s backoff: only honouring Retry-After: 0 keeps the waits short
        scorer = JudgeScorer(server.url, "m", retries=2, backoff=60, max_backoff=60)
        started = time.monotonic()
        assert scorer.score_pairs(PAIRS[:1]) == pytest.approx([expected_p_yes(LEANS_YES)], rel=1e-5)
        assert time.monotonic() - started < 20  # generous: ignoring Retry-After would wait 30 s or more
        assert server.posts == 3  # type: ignore[attr-defined]


def test_judge__retries_5xx_then_gives_up(leaning_yes: Any) -> None:
    with running(leaning_yes, _flaky_handler((500, {}), (503, {}))) as server:
        scorer = JudgeScorer(server.url, "m", retries=2, backoff=0.01)
        assert scorer.score_pairs(PAIRS[:1]) == pytest.approx([expected_p_yes(LEANS_YES)], rel=1e-5)
        assert server.posts == 3  # type: ignore[attr-defined]
    with running(leaning_yes, _flaky_handler((500, {}), (503, {}))) as server:
        scorer = JudgeScorer(server.url, "m", retries=1, backoff=0.01)
        [failure] = scorer.judge_pairs(PAIRS[:1])
        assert isinstance(failure, Failure) and (failure.kind, failure.attempts) == ("http_error", 2)
        assert failure.message.startswith("HTTP 503") and scorer.stats.failures == 1


def test_judge__retry_after_is_what_the_wait_uses() -> None:
    scorer = JudgeScorer("http://h", "m", backoff=8, max_backoff=60)
    assert scorer.client._delay(1, 0.0) == 0.0 and scorer.client._delay(3, 5.0) == 5.0
    assert scorer.client._delay(1, 600.0) == 60.0
    assert 4.0 <= scorer.client._delay(1, None) < 8.0 and 16.0 <= scorer.client._delay(3, None) < 32.0


def test_judge__timeout_is_retried_then_reported(leaning_yes: Any) -> None:
    class SlowFirst(RecordingHandler):
        def answer(self, body: Any) -> dict[str, Any]:
            server: Any = self.server
            with server.record_lock:
                server.posts += 1
                first = server.posts == 1
            if first:
                time.sleep(1.0)
            return super().answer(body)

    with running(leaning_yes, SlowFirst) as server:
        scorer = JudgeScorer(server.url, "m", timeout=0.3, retries=1, backoff=0.01)
        assert scorer.score_pairs(PAIRS[:1]) == pytest.approx([expected_p_yes(LEANS_YES)], rel=1e-5)
    with running(leaning_yes, SlowFirst) as server:
        scorer = JudgeScorer(server.url, "m", timeout=0.3, retries=0)
        with pytest.raises(JudgeError, match=r"1 of 1 pair\(s\) got no verdict; first: timeout: no answer within "
                                             r"0.3 s \(1 attempt\(s\)\)"):
            scorer.score_pairs(PAIRS[:1])


def _text_only(content: str) -> type[RecordingHandler]:
    class TextOnly(RecordingHandler):
        def answer(self, body: Any) -> dict[str, Any]:
            answer = super().answer(body)
            answer["choices"][0]["message"]["content"] = content
            del answer["choices"][0]["logprobs"]
            return answer

    return TextOnly


@pytest.mark.parametrize(("content", "expected"), [("Yes", 1.0), ("No.", 0.0)])
def test_judge__falls_back_to_the_answer_text(leaning_yes: Any, content: str, expected: float) -> None:
    with running(leaning_yes, _text_only(content)) as server:
        scorer = JudgeScorer(server.url, "m")
        assert scorer.score_pairs(PAIRS) == [expected, expected]
        assert (scorer.stats.text_verdicts, scorer.stats.logprob_verdicts) == (2, 0)


def test_judge__an_answer_that_is_neither_is_a_counted_failure() -> None:
    undecided = yes_no_model({"maybe": 5.0, **{w: FLOOR - 10 for w in ("Yes", "yes", "No", "no", "Ġyes", "Ġno")}})
    with running(undecided) as server:
        scorer = JudgeScorer(server.url, "m")
        results = scorer.judge_pairs(PAIRS)
        with pytest.raises(JudgeError, match="2 of 2 pair"):
            scorer.score_pairs(PAIRS)  # failures are not cached: asked again
    assert all(isinstance(r, Failure) and r.kind == "no_verdict" for r in results)
    assert results[0].message == ("the judge answered 'maybe', not yes or no and neither is among its 20 most "  # type: ignore[union-attr]
                                  "likely first tokens")
    assert scorer.stats.failures == 4 and scorer.stats.requests == 4


def test_judge__pickles_and_scores_after(leaning_yes: Any) -> None:
    with running(leaning_yes) as server:
        scorer = JudgeScorer(server.url, "m")
        scorer.score_pairs(PAIRS[:1])
        clone = pickle.loads(pickle.dumps(scorer))
        assert clone.stats.requests == 0 and clone.score_pairs(PAIRS[:1]) == scorer.score_pairs(PAIRS[:1])


def test_judge__unreachable_endpoint_fails_every_pair() -> None:
    scorer = judge_from_spec(f"judge:http://127.0.0.1:{closed_port()}?model=m&retries=1")
    scorer.client.backoff = 0.001
    results = scorer.judge_pairs(PAIRS)
    assert all(isinstance(r, Failure) and (r.kind, r.attempts) == ("connection_error", 2) for r in results)


def test_judge__on_result_sees_each_pair_once(leaning_yes: Any) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def record(index: int, result: float | Failure) -> None:
        with lock:
            seen.append(index)

    with running(leaning_yes) as server:
        scorer = JudgeScorer(server.url, "m")
        scorer.score_pairs(PAIRS[:1])
        scorer.judge_pairs([PAIRS[1], PAIRS[0], PAIRS[1]], on_result=record)
    assert sorted(seen) == [0, 1, 2] and seen[0] == 1  # the cache hit comes first


def test_server_command__a_missing_model_is_a_one_line_error(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from ifverify.learned.judge_server import serve_judge

    result = CliRunner().invoke(serve_judge, ["--model", str(tmp_path / "nowhere.gguf"), "--port", "0"])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: cannot load the model ") and "nothing is downloaded" in result.output


def test_imports__the_judge_needs_no_torch_and_the_http_client_no_generate() -> None:
    import subprocess
    import sys

    code = ("import sys, ifverify.learned.judge; "
            "print(sorted(m for m in ('torch', 'transformers', 'ifverify.data.generate') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_judge__no_pairs_asks_nothing() -> None:
    scorer = JudgeScorer(f"http://127.0.0.1:{closed_port()}", retries=0)  # no model: would ask /v1/models
    assert scorer.score_pairs([]) == [] and scorer.stats.requests == 0


def test_server__sampling_is_seeded_and_leaves_the_global_generator_alone() -> None:
    import torch

    spread = yes_no_model({"Yes": 0.0, "No": 0.0, "maybe": 0.0, "Ġyes": 0.0})
    body = {"messages": [{"role": "user", "content": "Pick."}], "max_tokens": 12, "temperature": 1.0, "seed": 7}
    state = torch.random.get_rng_state()
    with running(spread) as server:
        url = server.url + "/chat/completions"
        first, again = post(url, body)["choices"][0]["message"]["content"], post(url, body)["choices"][0]["message"]
        other = post(url, {**body, "seed": 8})["choices"][0]["message"]["content"]
    assert torch.equal(state, torch.random.get_rng_state())
    assert first == again["content"] and first != other  # 4 equally likely tokens over 12 steps
    assert set(first.replace("maybe", "").replace("Yes", "").replace("No", "").replace(" yes", "")) == set()
