"""The pack through the CLI: list, describe, plugins, and its generated catalogue page."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ifverify_ifbench", reason="pip install -e packs/ifverify-ifbench")

from _ifbench_support import DATA, read_jsonl  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from ifverify.cli import cli  # noqa: E402

REPO = DATA.parents[1]
IFBENCH_IDS = sorted({i for row in read_jsonl("IFBench_test.jsonl") for i in row["instruction_id_list"]})


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_list__shows_the_58_types_each_answering_to_its_ifbench_id() -> None:
    entries = json.loads(_run("list", "--json", "--origin", "ifverify-ifbench"))
    assert len(entries) == 58 == len(IFBENCH_IDS)
    assert sorted(a for e in entries for a in e["aliases"]) == IFBENCH_IDS
    assert all(e["id"].startswith("ifbench.") and e["description"] and e["templates"] for e in entries)
    assert all(e["origin"] == "ifverify-ifbench:ifbench" for e in entries)


def test_catalogue__docs_page_is_generated_from_the_pack() -> None:
    stdout = _run("list", "--markdown", "--origin", "ifverify-ifbench")
    assert (REPO / "docs" / "ifbench-constraints.md").read_text(encoding="utf-8") == stdout, (
        "docs/ifbench-constraints.md is stale: regenerate it with "
        "`ifverify list --markdown --origin ifverify-ifbench > docs/ifbench-constraints.md`")


def test_describe__by_ifbench_id() -> None:
    out = _run("describe", "count:keywords_multiple")
    assert out.startswith("ifbench.count_keywords_multiple  (hard, family ifbench, ifverify-ifbench:ifbench)")


def test_plugins__shows_the_distribution_and_its_prefixes() -> None:
    (entry,) = [e for e in json.loads(_run("plugins", "--json")) if e["distribution"] == "ifverify-ifbench"]
    assert entry["entry_point"] == "ifbench" and entry["error"] is None and len(entry["ids"]) == 58
    assert entry["alias_prefixes"] == ["count:", "custom:", "format:", "ratio:", "repeat:", "sentence:", "words:"]


def test_docs__ifbench_page_examples_run() -> None:
    """docs/ifbench.md marks its examples ``python notest`` (the docs test runs without the pack); they
    run here, where the pack is installed."""
    import re

    page = (REPO / "docs" / "ifbench.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python notest\n(.*?)```", page, re.DOTALL)
    assert blocks
    for i, code in enumerate(blocks):
        exec(compile(code, f"ifbench.md#{i}", "exec"), {"__name__": f"docs_ifbench_{i}"})
