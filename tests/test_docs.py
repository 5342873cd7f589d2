"""Every ```python block in README.md and docs/ runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)  # ```python notest blocks are not run


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for i, code in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
            found.append((f"{page.name}#{i}", code))
    return found


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_docs__python_examples_run(where: str, code: str) -> None:
    exec(compile(code, where, "exec"), {"__name__": f"docs_{where}"})


def _commands(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_exactly_the_readmes_two_commands_first() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    shown = [cmd.strip() for block in re.findall(r"```bash\n(.*?)```", quick_start, re.DOTALL)
             for cmd in _commands(block)]
    assert shown == ["bash scripts/setup.sh", "HF_HUB_OFFLINE=1 python -m pytest -n 2 -q"]
    ci = _commands((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    steps = [line for line in ci if not line.startswith(("set ", "cd ", "export "))]
    assert steps[:2] == shown
    assert all("openrlhf" in line for line in steps[2:])  # then only the separate OpenRLHF environment


def test_check_page__the_soft_constraint_example_prints_what_it_shows(tmp_path: Path) -> None:
    import subprocess

    page = (REPO / "docs" / "check.md").read_text(encoding="utf-8")
    section = page.split("## Soft constraints", 1)[1]
    script, shown = re.search(r"```bash\n(.*?)```\n\n```\n(.*?)```", section, re.DOTALL).groups()
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown
