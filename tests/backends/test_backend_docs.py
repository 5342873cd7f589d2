"""The backend pages quote what the commands print: the dry-run plans and the one-line errors (issue 11).

Each ``ifverify train ... --dry-run`` block of docs/backends/*.md is run and its output compared with the
``text`` block after it (the repository path written as ``/work/main``); each quoted ``Error:`` line for a
missing backend is compared with what ``ifverify train`` prints where that backend is not installed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifverify.backends import install
from ifverify.cli import cli

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "backends"
SHOWN_REPO = "/work/main"
DRY_RUN = re.compile(r"```bash\n(ifverify train --config \S+ --dry-run)\n```\n.*?```text\n(.*?)```", re.DOTALL)
MISSING = re.compile(r"`(ifverify train --config \S+)` stops with one line.*?```\n(Error: .*?)\n```", re.DOTALL)


def _cases(pattern: re.Pattern[str]) -> list[tuple[str, str, str]]:
    return [(page.name, command, shown) for page in sorted(DOCS.glob("*.md"))
            for command, shown in pattern.findall(page.read_text(encoding="utf-8"))]


def _run(command: str) -> tuple[int, str]:
    args = shlex.split(command)
    assert args[0] == "ifverify"
    result = CliRunner().invoke(cli, args[1:])
    return result.exit_code, result.output.replace(str(REPO), SHOWN_REPO)


def test_every_backend_page_has_its_dry_run_and_missing_backend_error() -> None:
    assert sorted({page for page, _, _ in _cases(DRY_RUN)}) == ["openrlhf.md", "trl.md", "verl.md"]
    assert sorted({page for page, _, _ in _cases(MISSING)}) == ["openrlhf.md", "verl.md"]


@pytest.mark.parametrize("page, command, shown", _cases(DRY_RUN), ids=lambda v: str(v)[:40])
def test_dry_run_output_is_what_the_page_shows(page: str, command: str, shown: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, output = _run(command)
    assert code == 0
    assert output == shown


@pytest.mark.parametrize("page, command, shown", _cases(MISSING), ids=lambda v: str(v)[:40])
def test_missing_backend_error_is_what_the_page_quotes(page: str, command: str, shown: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the backend's packages are absent (the main environment), the run stops before converting data."""
    absent = {module for modules in install.RUNTIME.values() for module in modules}
    real = install.importlib.util.find_spec
    monkeypatch.setattr(install.importlib.util, "find_spec",
                        lambda name, *a, **k: None if name in absent else real(name, *a, **k))
    monkeypatch.chdir(REPO)
    code, output = _run(command)
    assert code == 1
    assert output.splitlines()[-1] == shown


def test_install_hints_agree_with_the_pages() -> None:
    for backend, hint in install.INSTALL.items():
        command = re.search(r'pip install -e "\.\[[a-z,]+\]"', hint)
        assert command is not None, hint
        assert command.group(0) in (DOCS / f"{backend}.md").read_text(encoding="utf-8"), backend


def test_bad_config_message_is_what_the_overview_quotes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = (DOCS / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"`(Error: my\.yaml: [^`]+)`", page)
    assert quoted is not None
    (tmp_path / "my.yaml").write_text("backend: trl\npolicy: {model: m}\ncurriculum: {data: d.jsonl, bogus: 1}\n",
                                      encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["train", "--config", "my.yaml", "--dry-run"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == quoted.group(1)
