"""What every response backend shares: the :class:`Generator` interface and the :class:`Failure` record.

It lives apart from :mod:`ifverify.data.generate` (the local backend and the file runner) and
:mod:`ifverify.data.openai_chat` (the HTTP backend) so that both import it and neither imports the other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Failure:
    """A row that got no response: ``kind`` (e.g. ``http_error``, ``timeout``), a message, attempts made."""

    kind: str
    message: str
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "attempts": self.attempts}


class Generator(ABC):
    """Answers prompts.  ``generate`` yields ``(index, response or Failure)`` as each row finishes, in any
    order, once per prompt; it raises only for interruptions (KeyboardInterrupt)."""

    backend: ClassVar[str]

    @abstractmethod
    def metadata(self) -> dict[str, Any]:
        """The ``generator`` record of an answered row: backend, model, max_new_tokens, temperature, seed."""

    @abstractmethod
    def generate(self, prompts: Sequence[str]) -> Iterator[tuple[int, str | Failure]]:
        """Answer each prompt (a user message); see the class docstring."""
