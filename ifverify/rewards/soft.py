"""Scoring soft constraints in context: one call over (constraint text, response, prompt) queries.

A soft scorer has ``score_pairs(pairs)`` over (constraint text, response) pairs; one that also reads the prompt
(the packaged verifier does) has ``score_queries(queries)`` over (constraint text, response, prompt or None)
triples.  :func:`score_queries` calls whichever the scorer has, so every surface (``Reward``, ``check``,
``rm eval``) passes the prompt when it knows it, and a pair scorer scores each distinct pair once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: (constraint text, response, prompt or None)
Query = tuple[str, str, "str | None"]


def score_queries(scorer: Any, queries: Sequence[Query]) -> list[float]:
    """The scorer's P(satisfied) per query, in order; a scorer without ``score_queries`` ignores the prompts."""
    method = getattr(scorer, "score_queries", None)
    if callable(method):
        scores = list(method(list(queries)))
        if len(scores) != len(queries):
            raise ValueError(f"the scorer returned {len(scores)} scores for {len(queries)} queries")
        return scores
    pairs = list(dict.fromkeys((c, r) for c, r, _ in queries))
    scores = list(scorer.score_pairs(pairs)) if pairs else []
    if len(scores) != len(pairs):
        raise ValueError(f"the scorer returned {len(scores)} scores for {len(pairs)} pairs")
    by_pair = dict(zip(pairs, scores, strict=True))
    return [by_pair[(c, r)] for c, r, _ in queries]
