"""``ifverify data judge-label``: pairs relabelled by a real local judge server, resumable, failures recorded,
and the output read by ``ifverify rm train``'s reader."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _judge_support import RecordingHandler, expected_p_yes, running, yes_no_model
from click.testing import CliRunner

from ifverify.cli.data import data
from ifverify.learned.training import read_pairs

YES = {"Yes": 3.0, "No": 1.0}
NO = {"Yes": 0.0, "ĠNo": 2.0}
UNSURE = {"maybe": 5.0}
P_YES, P_NO = expected_p_yes(YES), expected_p_yes(NO)


def pair(i: int, response: str, label: int) -> dict[str, Any]:
    return {"pair_id": f"s{i}-L1-pos", "constraint_id": "soft.tone", "constraint_text": "Use a formal tone.",
            "response": response, "label": label, "kind": "soft"}


PAIRS = [pair(0, "Dear Sir, I write to you.", 1), pair(1, "NEG yo wassup", 1), pair(2, "Good day to you.", 0),
         pair(3, "NEG lol", 0)]


def routing_handler(models: dict[str, Any]) -> type[RecordingHandler]:
    """The real handler, answering with ``models[word]`` when ``word`` is in the prompt, else the server's model."""

    class Routing(RecordingHandler):
        def answer(self, body: Any) -> dict[str, Any]:
            prompt = body["messages"][0]["content"]
            for word, model in models.items():
                if word in prompt:
                    with self.server.record_lock:  # type: ignore[attr-defined]
                        self.server.bodies.append(body)  # type: ignore[attr-defined]
                    return model.complete(body)  # type: ignore[no-any-return]
            return super().answer(body)

    return Routing


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return {"yes": yes_no_model(YES), "no": yes_no_model(NO), "unsure": yes_no_model(UNSURE)}


@pytest.fixture
def server(models: dict[str, Any]) -> Iterator[Any]:
    with running(models["yes"], routing_handler({"NEG": models["no"], "MAYBE": models["unsure"]})) as srv:
        yield srv


def write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(data, ["judge-label", *args])


def test_judge_label__labels_keep_rows_and_feed_rm_train(tmp_path: Path, server: Any) -> None:
    source, out = write(tmp_path / "pairs.jsonl", PAIRS), tmp_path / "judged" / "out.jsonl"
    result = invoke(str(source), "--judge", f"judge:{server.url}?model=j&concurrency=2", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert [r["pair_id"] for r in rows] == [p["pair_id"] for p in PAIRS]
    assert [r["label"] for r in rows] == [1, 0, 1, 0]
    assert [r["pseudo_label"] for r in rows] == [1, 1, 0, 0]
    assert [r["judge_p"] for r in rows] == pytest.approx([P_YES, P_NO, P_YES, P_NO], rel=1e-5)
    assert rows[0]["judge"] == {"url": f"{server.url}/chat/completions", "model": "j"}
    assert {k: v for k, v in rows[0].items() if k not in ("label", "pseudo_label", "judge_p", "judge")} == \
        {k: v for k, v in PAIRS[0].items() if k != "label"}
    assert result.stderr.splitlines() == [
        "judged 4, reused 0 (already judged), failed 0, bad input lines 0",
        "judge labels: 2 positive of 4 (50.0%); agreement with the input labels: 2/4 (50.0%)"]
    assert [(p.response, p.label) for p in read_pairs(out)] == [(p["response"], r["label"])
                                                                for p, r in zip(PAIRS, rows, strict=True)]


def test_judge_label__resumes_after_an_interruption(tmp_path: Path, server: Any) -> None:
    source, out = write(tmp_path / "pairs.jsonl", PAIRS), tmp_path / "out.jsonl"
    spec = f"judge:{server.url}?model=j"
    assert invoke(str(source), "--judge", spec, "--out", str(out)).exit_code == 0
    complete = out.read_text(encoding="utf-8")
    asked = len(server.bodies)
    first, second = complete.splitlines()[:2]
    out.write_text(second + "\n" + first[: len(first) // 2], encoding="utf-8")  # two rows kept, one torn
    result = invoke(str(source), "--judge", spec, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == complete
    assert len(server.bodies) - asked == 3  # pairs 0, 2 and 3: only pair 1 was kept whole
    assert result.stderr.splitlines()[:2] == [
        "ignored 1 unreadable line(s) of the earlier output (an interrupted write)",
        "judged 3, reused 1 (already judged), failed 0, bad input lines 0"]
    rerun = invoke(str(source), "--judge", f"judge:{server.url}?model=other", "--out", str(out))
    assert rerun.exit_code == 0 and "judged 4, reused 0" in rerun.stderr  # another judge: asked again


def test_judge_label__failures_are_error_rows_then_retried_or_dropped(tmp_path: Path, server: Any) -> None:
    rows = [*PAIRS[:2], pair(9, "MAYBE so", 1)]
    source, out = write(tmp_path / "pairs.jsonl", rows), tmp_path / "out.jsonl"
    spec = f"judge:{server.url}?model=j&retries=0"
    result = invoke(str(source), "--judge", spec, "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == ("line 3: no_verdict: the judge answered 'maybe', not yes or no and "
                                             "neither is among its 20 most likely first tokens (1 attempt(s))")
    failed = read(out)[2]
    assert "label" not in failed and failed["pseudo_label"] == 1 and failed["error"]["kind"] == "no_verdict"
    asked = len(server.bodies)
    dropped = invoke(str(source), "--judge", spec, "--out", str(out), "--drop-failed")
    assert dropped.exit_code == 1 and len(server.bodies) - asked == 1  # only the failed pair is asked again
    assert [r["pair_id"] for r in read(out)] == ["s0-L1-pos", "s1-L1-pos"] and len(read_pairs(out)) == 2


def test_judge_label__bad_lines_are_named_and_skipped(tmp_path: Path, server: Any) -> None:
    source = write(tmp_path / "pairs.jsonl", [PAIRS[0], "{not json", {"constraint_text": "c"}, PAIRS[1]])
    out = tmp_path / "out.jsonl"
    result = invoke(str(source), "--judge", f"judge:{server.url}?model=j", "--out", str(out))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("line 2: (json): not valid JSON")
    assert lines[1] == "line 3: response: missing or not a string"
    assert [r["label"] for r in read(out)] == [1, 0]


def test_judge_label__judging_a_judged_file_keeps_the_original_label(tmp_path: Path, server: Any) -> None:
    source, out = write(tmp_path / "pairs.jsonl", PAIRS), tmp_path / "out.jsonl"
    spec = f"judge:{server.url}?model=j"
    assert invoke(str(source), "--judge", spec, "--out", str(out)).exit_code == 0
    again = tmp_path / "again.jsonl"
    assert invoke(str(out), "--judge", spec, "--out", str(again)).exit_code == 0
    assert read(again) == read(out)


def test_judge_label__usage_and_run_errors(tmp_path: Path) -> None:
    import socket

    source, out = write(tmp_path / "pairs.jsonl", PAIRS), tmp_path / "out.jsonl"
    bad = invoke(str(source), "--judge", "http://h", "--out", str(out))
    assert bad.exit_code == 2 and "--judge" in bad.stderr and "must start with 'judge:'" in bad.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = invoke(str(source), "--judge", f"judge:http://127.0.0.1:{port}?retries=0", "--out", str(out))
    assert down.exit_code == 1 and not out.exists()
    assert down.stderr.startswith(f"Error: cannot use the judge judge:http://127.0.0.1:{port}?retries=0: "
                                  "connection_error: no model given and")
