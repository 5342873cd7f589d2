"""A ``judge:<url>`` spec works wherever a classifier does: Reward, ``ifverify check``, ``ifverify serve`` and
the training config; the slow test runs the packaged SmolLM2 behind the real chat server end to end."""

from __future__ import annotations

import http.client
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _judge_support import expected_p_yes, running, yes_no_model
from click.testing import CliRunner

from ifverify.cli import cli, main
from ifverify.learned.judge import JudgeScorer, judge_prompt
from ifverify.rewards.reward import ClassifierError, Reward

LEANS_NO = {"ĠYes": 0.5, "No": 2.0, "no": 0.25}
P = expected_p_yes(LEANS_NO)  # about 0.16: below the threshold
SOFT = {"id": "soft.tone", "text": "Use a formal tone."}
HARD = {"id": "punctuation.no_comma"}
ROWS = [{"prompt": "Write about cats.", "response": "the cat sleeps", "constraints": [SOFT, HARD]},
        {"prompt": "Write about dogs.", "response": "a dog, a ball", "constraints": [HARD]}]


@pytest.fixture(scope="module")
def judge_url() -> Iterator[str]:
    with running(yes_no_model(LEANS_NO)) as server:
        yield server.url


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_reward__judge_spec_scores_soft_constraints(judge_url: str) -> None:
    reward = Reward(classifier=f"judge:{judge_url}?model=m")
    assert isinstance(reward.classifier, JudgeScorer)
    scores = reward(prompts=[r["prompt"] for r in ROWS], completions=[r["response"] for r in ROWS],
                    constraints=[r["constraints"] for r in ROWS])
    assert scores == pytest.approx([(P + 1.0) / 2, 0.0], rel=1e-5)
    [result] = reward.score_batch(prompts=[ROWS[0]["prompt"]], completions=[ROWS[0]["response"]],
                                  constraints=[ROWS[0]["constraints"]])
    soft = result.results[0]
    assert soft.score == pytest.approx(P, rel=1e-5) and soft.verdict is False


def test_reward__unreachable_judge_fails_at_construction() -> None:
    spec = f"judge:http://127.0.0.1:{closed_port()}?model=m&retries=0"
    started = time.monotonic()
    with pytest.raises(ClassifierError, match=r"the classifier failed on a probe pair: JudgeError: judge "
                                              r"http://127\.0\.0\.1:\d+/v1/chat/completions: 1 of 1 pair\(s\) got "
                                              r"no verdict; first: connection_error"):
        Reward(classifier=spec)
    assert time.monotonic() - started < 30  # generous: retries=0 answers at once


def test_reward__bad_spec_is_a_construction_error() -> None:
    with pytest.raises(ClassifierError, match="unknown parameter 'modl'"):
        Reward(classifier="judge:http://127.0.0.1:9?modl=x")


def test_check__classifier_judge(tmp_path: Path, judge_url: str) -> None:
    data, results = tmp_path / "rows.jsonl", tmp_path / "results.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    result = CliRunner().invoke(cli, ["check", str(data), "--classifier", f"judge:{judge_url}?model=m",
                                      "--results", str(results), "--format", "json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in results.read_text().splitlines()]
    soft = records[0]["details"][0]
    assert soft["id"] == "soft.tone" and soft["score"] == pytest.approx(P, rel=1e-5) and soft["strict"] is False
    assert records[0]["follow_instruction_list"] == [False, True]


def test_check__unreachable_judge_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    spec = f"judge:http://127.0.0.1:{closed_port()}?model=m&retries=0"
    with pytest.raises(SystemExit) as info:
        main(["check", str(data), "--classifier", spec])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: JudgeError: judge http://127.0.0.1:") and "connection_error" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_serve__reward_server_with_a_judge(judge_url: str) -> None:
    from ifverify.serve import RewardServer

    reward = Reward(classifier=f"judge:{judge_url}?model=m", on_error="zero", name="ifverify_serve")
    server = RewardServer(reward, batch_window_ms=5).start()
    try:
        prompt = "<|im_start|>user\nWrite about cats.<|im_end|>\n<|im_start|>assistant\n"
        body = {"query": [prompt + "the cat sleeps<|im_end|>"], "prompts": [prompt],
                "labels": [json.dumps([SOFT, HARD])]}
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        conn.request("POST", "/get_reward", body=json.dumps(body), headers={"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        conn.close()
    finally:
        server.shutdown()
    assert answer["rewards"] == pytest.approx([(P + 1.0) / 2], rel=1e-5)


def test_serve__cli_refuses_an_unreachable_judge() -> None:
    spec = f"judge:http://127.0.0.1:{closed_port()}?model=m&retries=0"
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--classifier", spec])
    assert result.exit_code != 0 and "connection_error" in result.output and "Traceback" not in result.output


def test_training_config__reward_classifier_judge(tmp_path: Path, judge_url: str) -> None:
    from ifverify.backends.config import load_config
    from ifverify.backends.dispatch import reward_kwargs

    spec = f"judge:{judge_url}?model=m&concurrency=2"
    (tmp_path / "cur.jsonl").write_text(json.dumps({"prompt": "p", "level": 1, "constraints": [SOFT]}) + "\n")
    (tmp_path / "c.yaml").write_text(f"backend: trl\npolicy: {{model: some/model}}\ncurriculum: {{data: cur.jsonl}}\n"
                                     f"reward: {{classifier: '{spec}'}}\n")
    kwargs = reward_kwargs(load_config(tmp_path / "c.yaml"))
    assert kwargs["classifier"] == spec
    reward = Reward(**kwargs)
    assert reward(prompts=["p"], completions=["x"], constraints=[[SOFT]]) == pytest.approx([P], rel=1e-5)


# -- the real packaged SmolLM2 behind the real chat server -----------------------------------------------------
@pytest.mark.slow
def test_smollm2_judge_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    import torch

    from ifverify.learned.judge_server import load_chat_model

    torch.set_num_threads(1)
    chat_model = load_chat_model(None)
    pairs = [("Answer in French.", "Bonjour, je vais bien."), ("Write for children.", "The tax code, section 12b.")]
    with running(chat_model) as server:
        spec = f"judge:{server.url}"  # the model name comes from /v1/models
        reward = Reward(classifier=spec)
        scores = reward.classifier.score_pairs(pairs)
        rows = [{"prompt": "Say hi.", "response": r, "constraints": [{"id": "soft.tone", "text": c}]}
                for c, r in pairs]
        data, results = tmp_path / "rows.jsonl", tmp_path / "results.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        result = CliRunner().invoke(cli, ["check", str(data), "--classifier", spec, "--results", str(results)])
        assert result.exit_code == 0, result.output
        checked = [json.loads(line)["details"][0]["score"] for line in results.read_text().splitlines()]
    # the reference: SmolLM2's own next-token distribution after the judge prompt, computed in-process
    reference = []
    for constraint, response in pairs:
        text = chat_model.render([{"role": "user", "content": judge_prompt(constraint, response)}])
        encoded = chat_model.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            logprobs = torch.log_softmax(chat_model.model(**encoded).logits[0, -1].float(), dim=-1)
        top = torch.topk(logprobs, 20)
        words = [(chat_model.tokenizer.decode([int(i)]).strip().lower(), float(v))
                 for v, i in zip(top.values, top.indices, strict=True)]
        yes = sum(math.exp(v) for w, v in words if w == "yes")
        no = sum(math.exp(v) for w, v in words if w == "no")
        reference.append(yes / (yes + no))
    assert scores == pytest.approx(reference, abs=1e-4)
    assert checked == pytest.approx(scores, abs=1e-9)
    assert reward.classifier.stats.logprob_verdicts >= 2  # type: ignore[attr-defined]

