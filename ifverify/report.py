"""Rendering for the CLI: the check summary and the constraint catalogue, as text tables or markdown."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from typing import Any

from ifverify.constraints.base import SOFT, Constraint


def _pct(tally: dict[str, Any]) -> str:
    return "-" if tally["accuracy"] is None else f"{100 * tally['accuracy']:.2f}%"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], markdown: bool) -> str:
    rows = [list(map(str, r)) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows)])


def summary_text(summary: dict[str, Any], source: str, markdown: bool = False) -> str:
    """The check summary: overall accuracy per mode, then one line per constraint id."""
    modes = summary["modes"]
    head = (f"{'## ' if markdown else ''}ifverify check: {summary['rows']} rows, {summary['errors']} "
            f"error(s) ({source})")
    overall = _table(
        ["level", *modes],
        [["prompt", *(_pct(summary["prompt_level"][m]) for m in modes)],
         ["instruction", *(_pct(summary["instruction_level"][m]) for m in modes)]],
        markdown,
    )
    unscored = summary.get("unscored", 0)
    extra = ["unscored"] if unscored else []
    per = _table(
        ["constraint", "n", *modes, *extra],
        [[cid, str(by_mode[modes[0]]["total"]), *(_pct(by_mode[m]) for m in modes),
          *(str(by_mode.get("unscored", 0)) for _ in extra)]
         for cid, by_mode in summary["per_constraint"].items()],
        markdown,
    )
    note = ""
    if unscored:
        from ifverify.rewards.evaluate import CHECK_HINT

        note = (f"\n{unscored} soft constraint(s) unscored, left out of the accuracies: no classifier "
                f"({CHECK_HINT})\n")
    return f"{head}\n\n{overall}\n\n{per}\n{note}"


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=False)


def catalogue_entry(cls: type[Constraint], origin: str = "") -> dict[str, Any]:
    """The JSON description of one constraint type (what ``ifverify list --json`` prints).

    Soft types also list their template slots and three example texts drawn with a fixed seed.
    """
    entry = {
        "id": cls.id,
        "kind": cls.kind,
        "family": cls.family,
        "aliases": [a.name for a in cls.aliases],
        "description": cls.description,
        "params_schema": cls.params_schema,
        "templates": list(cls.templates),
        "origin": origin or "built-in",
    }
    if cls.kind == SOFT:
        rng = random.Random(0)
        entry["slots"] = sorted(getattr(cls, "slots", {}))
        entry["examples"] = [cls.sample_spec(rng)["text"] for _ in range(3)]
    return entry


def catalogue_markdown(entries: Sequence[dict[str, Any]]) -> str:
    """The constraint catalogue page (``docs/constraints.md``), generated from the registry."""
    kinds = [k for k in ("hard", "soft") if any(e["kind"] == k for e in entries)]
    out = ["# Constraint catalogue", "",
           "Generated from the registry by `ifverify list --markdown`; do not edit by hand.", "",
           f"{len(entries)} constraint types: "
           + ", ".join(f"{sum(e['kind'] == k for e in entries)} {k}" for k in kinds) + ".", ""]
    for kind in kinds:
        out += [f"## {kind.capitalize()} constraints", "",
                _table(["id", "aliases", "params", "description"],
                       [[f"`{e['id']}`", ", ".join(f"`{a}`" for a in e["aliases"]) or "-",
                         ", ".join(f"`{p}`" for p in e["params_schema"].get("properties", {})) or "-",
                         e["description"]] for e in entries if e["kind"] == kind], markdown=True), ""]
    for e in entries:
        out += [f"### `{e['id']}`", "", e["description"], ""]
        if e["aliases"]:
            out += ["Aliases: " + ", ".join(f"`{a}`" for a in e["aliases"]), ""]
        if e["kind"] == SOFT:
            out += ["A soft constraint is free text judged by the classifier. Example texts:", ""]
            out += [f"- {text}" for text in e["examples"]] + [""]
            continue
        if e["templates"]:
            out += ["Phrasing: " + e["templates"][0].replace("\n", " "), ""]
        out += ["```json", json.dumps(e["params_schema"], indent=2), "```", ""]
    return "\n".join(out).rstrip() + "\n"


def describe_text(cls: type[Constraint], origin: str = "") -> str:
    entry = catalogue_entry(cls, origin)
    lines = [f"{entry['id']}  ({entry['kind']}, family {entry['family']}, {entry['origin']})", "",
             entry["description"], ""]
    if cls.__doc__:
        lines += [" ".join(cls.__doc__.split()), ""]
    if entry["aliases"]:
        lines += ["aliases: " + ", ".join(entry["aliases"]), ""]
    if cls.kind == SOFT:
        lines += ["an instance is (type, text); example texts:", *(f"  - {t}" for t in entry["examples"]), "",
                  "templates (slots: " + ", ".join(entry["slots"]) + "):"]
    else:
        lines += ["params schema:", json.dumps(entry["params_schema"], indent=2), "", "templates:"]
    if entry["templates"]:
        lines += [f"  - {t}" for t in entry["templates"]]
    return "\n".join(lines).rstrip() + "\n"
