"""The incremental curriculum: levels are prefixes, constraints compatible, output deterministic and
readable by `ifverify check` and the Reward; seed files with broken lines are reported, never fatal."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from ifverify.cli import cli
from ifverify.cli.data import data
from ifverify.constraints.base import SoftConstraint
from ifverify.constraints.registry import Registry, default_registry
from ifverify.data.curriculum import (
    DEFAULT_EXCLUDED_HARD,
    REPEAT_PROMPT,
    Seed,
    build_curriculum,
    bundled_seeds_path,
    derived_seed_id,
    incompatible,
    join_prompt,
    load_bundled_seeds,
    read_seeds,
    write_rows,
)
from ifverify.rewards.reward import Reward

ROW_KEYS = ["id", "seed_id", "level", "seed", "prompt", "constraints"]


class _StandInTone(SoftConstraint):
    id = "standin.tone"
    family = "standin"
    templates = ("Keep the tone {tone} throughout.",)
    slots: ClassVar[dict[str, tuple[str, ...]]] = {"tone": ("cheerful", "calm", "formal")}


class _StandInAudience(SoftConstraint):
    id = "standin.audience"
    family = "standin"
    templates = ("Write for {reader}.",)
    slots: ClassVar[dict[str, tuple[str, ...]]] = {"reader": ("children", "experts", "tourists")}


@pytest.fixture(scope="module")
def mixed_registry() -> Registry:
    """Every registered type, plus stand-in soft types when fewer than 5 soft types are registered."""
    registry = Registry()
    for cls in default_registry():
        registry.register(cls)
    if len(registry.ids("soft")) < 5:
        registry.register(_StandInTone)
        registry.register(_StandInAudience)
    return registry


@pytest.fixture(scope="module")
def seeds() -> list[Seed]:
    return load_bundled_seeds()


@pytest.fixture(scope="module")
def rows(seeds: list[Seed], mixed_registry: Registry) -> list[dict[str, Any]]:
    return build_curriculum(seeds, registry=mixed_registry)


def by_seed(rows: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    grouped: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        grouped[row["seed_id"]][row["level"]] = row
    return grouped


# -- the bundled seeds -------------------------------------------------------------------------------------
def test_bundled_seeds__300_distinct_clean_and_varied(seeds: list[Seed]) -> None:
    raw = [json.loads(line) for line in bundled_seeds_path().read_text(encoding="utf-8").splitlines()]
    assert len(seeds) == len(raw) == 300
    assert [s.seed_id for s in seeds] == [f"seed-{n:04d}" for n in range(1, 301)]
    assert len({s.instruction.lower() for s in seeds}) == 300
    assert all(set(r) == {"seed_id", "instruction", "domain"} for r in raw)
    domains = Counter(r["domain"] for r in raw)
    assert len(domains) >= 15 and max(domains.values()) <= 30
    lengths = sorted(len(s.instruction) for s in seeds)
    assert lengths[0] < 60 and lengths[-1] > 200


# -- structure ---------------------------------------------------------------------------------------------
def test_curriculum__five_levels_per_seed_each_a_prefix_of_l5(rows: list[dict[str, Any]], seeds: list[Seed]) -> None:
    grouped = by_seed(rows)
    assert len(rows) == 5 * len(seeds) and list(grouped) == [s.seed_id for s in seeds]
    for seed in seeds:
        levels = grouped[seed.seed_id]
        assert sorted(levels) == [1, 2, 3, 4, 5]
        full = levels[5]["constraints"]
        assert len(full) == 5
        for k, row in levels.items():
            assert list(row) == ROW_KEYS
            assert row["id"] == f"{seed.seed_id}-L{k}" and row["seed"] == seed.instruction
            assert row["constraints"] == full[:k]
            assert row["prompt"].startswith(seed.instruction)
            if k > 1:
                assert row["prompt"].startswith(levels[k - 1]["prompt"])


def test_curriculum__level_major_order(rows: list[dict[str, Any]]) -> None:
    assert [row["level"] for row in rows] == sorted(row["level"] for row in rows)


def test_curriculum__prompt_is_seed_plus_each_phrasing(rows: list[dict[str, Any]], mixed_registry: Registry) -> None:
    for row in rows[-50:]:
        phrasings = [mixed_registry.build_spec(spec).instruction() for spec in row["constraints"]]
        assert row["prompt"] == join_prompt(row["seed"], phrasings)
        for spec, phrase in zip(row["constraints"], phrasings, strict=True):
            assert phrase in row["prompt"]
            assert ("text" in spec) == (mixed_registry.get(spec["id"]).kind == "soft")


def test_curriculum__no_conflicting_pair_in_any_instruction(rows: list[dict[str, Any]],
                                                           mixed_registry: Registry) -> None:
    for row in rows:
        if row["level"] != 5:
            continue
        built = [mixed_registry.build_spec(spec) for spec in row["constraints"]]
        assert len({c.id for c in built}) == 5
        for a, b in itertools.combinations(built, 2):
            assert not a.conflicts_with(b), (row["id"], a, b)
            assert not incompatible(a, b), (row["id"], a, b)


def test_curriculum__excluded_hard_types_never_sampled(rows: list[dict[str, Any]]) -> None:
    used = {spec["id"] for row in rows for spec in row["constraints"]}
    assert not used & set(DEFAULT_EXCLUDED_HARD)
    assert len(used) >= 30


@pytest.mark.parametrize("ratio", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_curriculum__soft_share_follows_soft_ratio(ratio: float, seeds: list[Seed],
                                                   mixed_registry: Registry) -> None:
    rows = build_curriculum(seeds, soft_ratio=ratio, registry=mixed_registry)
    kinds = [mixed_registry.get(spec["id"]).kind for row in rows if row["level"] == 5 for spec in row["constraints"]]
    share = kinds.count("soft") / len(kinds)
    assert abs(share - ratio) <= 0.04, share
    if ratio in (0.0, 1.0):
        assert share == ratio


def test_curriculum__n_constraints_sets_the_levels(seeds: list[Seed]) -> None:
    rows = build_curriculum(seeds[:4], n_constraints=3, soft_ratio=0)
    assert sorted({row["level"] for row in rows}) == [1, 2, 3] and len(rows) == 12


# -- determinism -------------------------------------------------------------------------------------------
def test_curriculum__byte_identical_across_runs_and_processes(tmp_path: Path, seeds: list[Seed]) -> None:
    first, second, third = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    write_rows(build_curriculum(seeds[:60], seed=7), first)
    write_rows(build_curriculum(seeds[:60], seed=7), second)
    code = ("from ifverify.data.curriculum import build_curriculum, load_bundled_seeds, write_rows; "
            f"write_rows(build_curriculum(load_bundled_seeds()[:60], seed=7), {str(third)!r})")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert first.read_bytes() == second.read_bytes() == third.read_bytes()


def test_curriculum__other_seeds_do_not_change_a_seeds_sample(seeds: list[Seed]) -> None:
    alone = build_curriculum(seeds[5:8])
    among = build_curriculum([seeds[0], *seeds[5:8], *seeds[100:110]])
    keep = {s.seed_id for s in seeds[5:8]}
    assert alone == [row for row in among if row["seed_id"] in keep]


def test_curriculum__sampling_seed_changes_the_sample(seeds: list[Seed]) -> None:
    assert build_curriculum(seeds[:20], seed=0) != build_curriculum(seeds[:20], seed=1)


def test_curriculum__module_does_not_import_torch() -> None:
    code = ("import sys; from ifverify.data.curriculum import build_curriculum, load_bundled_seeds; "
            "build_curriculum(load_bundled_seeds()[:3]); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- consumers: check and Reward ---------------------------------------------------------------------------
def test_curriculum__hard_rows_accepted_by_check(tmp_path: Path, seeds: list[Seed]) -> None:
    rows = build_curriculum(seeds[:30], soft_ratio=0)
    path = tmp_path / "answered.jsonl"
    write_rows([{**row, "response": "A dummy response. It says little."} for row in rows], path)
    result = CliRunner().invoke(cli, ["check", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 150 and summary["errors"] == 0
    assert summary["instruction_level"]["strict"]["total"] == 30 * (1 + 2 + 3 + 4 + 5)


def test_curriculum__soft_rows_reported_by_check_as_soft(tmp_path: Path, seeds: list[Seed]) -> None:
    assert default_registry().ids("soft")
    rows = [row for row in build_curriculum(seeds[:10], soft_ratio=1.0) if row["level"] == 1]
    path = tmp_path / "soft.jsonl"
    write_rows([{**row, "response": "Hello."} for row in rows], path)
    result = CliRunner().invoke(cli, ["check", str(path), "--format", "json"])
    assert result.exit_code == 0  # without --classifier, soft constraints are unscored, not errors
    summary = json.loads(result.stdout)
    assert summary["unscored"] == 10 and summary["instruction_level"]["strict"]["total"] == 0


def test_curriculum__hard_rows_scored_by_reward(seeds: list[Seed]) -> None:
    rows = build_curriculum(seeds[:30], soft_ratio=0)
    reward = Reward()
    scores = reward(prompts=[r["prompt"] for r in rows], completions=["Some answer, short."] * len(rows),
                    constraints=[r["constraints"] for r in rows])
    assert len(scores) == 150 and all(s is not None and 0.0 <= s <= 1.0 for s in scores)
    assert reward.failures == 0


def test_curriculum__repeat_prompt_when_asked_is_built_from_the_seed(seeds: list[Seed]) -> None:
    rows = build_curriculum(seeds[:3], n_constraints=2, soft_ratio=0,
                            hard_ids=[REPEAT_PROMPT, "punctuation.no_comma"])
    for row in rows:
        for spec in row["constraints"]:
            if spec["id"] == REPEAT_PROMPT:
                assert spec["params"]["prompt_to_repeat"] == row["seed"]
    level2 = [r for r in rows if r["level"] == 2]
    scores = Reward()(prompts=[r["prompt"] for r in level2], completions=[r["seed"] + " Then the answer"
                                                                          for r in level2],
                      constraints=[r["constraints"] for r in level2])
    assert scores == [1.0, 1.0, 1.0]


# -- arguments -------------------------------------------------------------------------------------------
def test_curriculum__bad_arguments_raise(seeds: list[Seed], mixed_registry: Registry) -> None:
    hard_only = Registry()
    for cls in default_registry():
        if cls.kind == "hard":
            hard_only.register(cls)
    with pytest.raises(ValueError, match="no soft constraint type"):
        build_curriculum(seeds[:1], registry=hard_only)
    with pytest.raises(ValueError, match="soft_ratio must be within"):
        build_curriculum(seeds[:1], soft_ratio=1.5)
    with pytest.raises(ValueError, match="n_constraints must be at least 1"):
        build_curriculum(seeds[:1], n_constraints=0)
    with pytest.raises(ValueError, match="is a hard constraint type, not soft"):
        build_curriculum(seeds[:1], soft_ids=["punctuation.no_comma"], registry=mixed_registry)
    with pytest.raises(ValueError, match="unknown constraint id 'punctuation.no_coma'"):
        build_curriculum(seeds[:1], hard_ids=["punctuation.no_coma"], soft_ratio=0)
    with pytest.raises(ValueError, match="appears twice"):
        build_curriculum([seeds[0], seeds[0]], soft_ratio=0)
    with pytest.raises(ValueError, match="no compatible constraint left for c3 of 3"):
        build_curriculum(seeds[:1], n_constraints=3, soft_ratio=0, hard_ids=["format.title", "punctuation.no_comma"],
                         soft_ids=[])


def test_curriculum__plain_strings_and_mappings_are_seeds() -> None:
    rows = build_curriculum(["Describe a kite.", {"prompt": "Describe a boat.", "seed_id": "boat"}],
                            n_constraints=1, soft_ratio=0)
    assert [r["seed_id"] for r in rows] == [derived_seed_id("Describe a kite."), "boat"]


def test_join_prompt__space_after_a_sentence_newline_otherwise() -> None:
    assert join_prompt(" Write. ", ["Use no commas. ", "End well."]) == "Write. Use no commas. End well."
    assert join_prompt("Write", ["Use no commas."]) == "Write\nUse no commas."
    assert join_prompt("Write.", ["List:\n* a", "Then stop."]) == "Write.\nList:\n* a\nThen stop."


# -- seed files ----------------------------------------------------------------------------------------------
BROKEN_SEEDS = [
    b'{"seed_id": "s1", "instruction": "Describe a lake."}',
    b'{"instruction": "Describe a hill."',
    b'["not", "an", "object"]',
    b'{"seed_id": "s3", "domain": "x"}',
    b'{"instruction": "   "}',
    b'{"seed_id": 7, "instruction": "Describe a field."}',
    b'{"seed_id": "s1", "instruction": "Describe a cave."}',
    b'{"instruction": "Describe a \xff\xfe valley."}',
    b'',
    b'{"prompt": "  Describe a river.  "}',
]
BROKEN_ERRORS = [
    "line 2: (json): not valid JSON (Expecting ',' delimiter: line 1 column 35 (char 34))",
    "line 3: (json): expected a JSON object, got list",
    "line 4: instruction: missing (give 'instruction' or 'prompt')",
    "line 5: instruction: expected a non-blank string, got '   '",
    "line 6: seed_id: expected a non-blank string, got 7",
    "line 7: seed_id: 's1' repeats line 1",
    "line 8: (encoding): not valid UTF-8 (invalid start byte at byte offset 28)",
]


def test_read_seeds__broken_lines_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(BROKEN_SEEDS) + b"\n")
    seeds, errors = read_seeds(path)
    assert [str(e) for e in errors] == BROKEN_ERRORS
    assert seeds == [Seed("s1", "Describe a lake."), Seed(derived_seed_id("Describe a river."), "Describe a river.")]


def test_cli_curriculum__broken_seed_file_writes_the_rest_and_exits_1(tmp_path: Path) -> None:
    path, out = tmp_path / "seeds.jsonl", tmp_path / "out" / "curriculum.jsonl"
    path.write_bytes(b"\n".join(BROKEN_SEEDS))
    result = CliRunner().invoke(data, ["curriculum", "--seeds", str(path), "--out", str(out), "--soft-ratio", "0"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == BROKEN_ERRORS
    assert result.stdout.startswith(f"wrote 10 rows (2 seeds x 5 levels; 10 hard and 0 soft constraints) to {out}")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10


def test_cli_curriculum__bundled_seeds_with_limit(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    args = ["curriculum", "--out", str(out), "--limit", "4", "--n-constraints", "3", "--seed", "3"]
    if not default_registry().ids("soft"):
        args += ["--soft-ratio", "0"]
    result = CliRunner().invoke(data, args)
    assert result.exit_code == 0, result.output
    lines = out.read_bytes()
    expected = build_curriculum(load_bundled_seeds()[:4], n_constraints=3, seed=3,
                                soft_ratio=0.5 if default_registry().ids("soft") else 0)
    assert lines.decode("utf-8").splitlines() == [json.dumps(r, ensure_ascii=False) for r in expected]


def test_cli_curriculum__usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(data, ["curriculum"]).exit_code == 2
    assert runner.invoke(data, ["curriculum", "--out", str(tmp_path / "o"), "--soft-ratio", "2"]).exit_code == 2
    assert runner.invoke(data, ["curriculum", "--seeds", str(tmp_path / "none"), "--out", "o"]).exit_code == 2
