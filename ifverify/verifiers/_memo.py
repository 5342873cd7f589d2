"""Per-text memos bounded by memory, not only by count.

One response is checked by several constraints and, in loose mode, in several variants, so results
computed from a text are remembered by that text.  An entry costs about as much memory as its text,
so a count bound alone lets a stream of distinct 1 MB responses hold gigabytes: :class:`TextMemo`
bounds the total length of the texts it keeps, and does not keep a text longer than ``max_text``
(recomputing a very long text's answer costs little next to reading it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: Defaults: at most 8,192 entries, 16 M characters of text in all, no text over 256 K characters.
ENTRIES = 8192
CHARS = 16 * 1024 * 1024
MAX_TEXT = 256 * 1024

_MISSING = object()


class TextMemo:
    """A thread-safe map from keys (holding a text) to values, bounded by entries and characters; the
    oldest entries go first.  Reads take no lock (one dict lookup: this sits on the checking hot path)."""

    def __init__(self, entries: int = ENTRIES, chars: int = CHARS, max_text: int = MAX_TEXT) -> None:
        self.entries, self.chars, self.max_text = entries, chars, max_text
        self._items: dict[Any, tuple[int, Any]] = {}
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: Any, default: Any = _MISSING) -> Any:
        hit = self._items.get(key)
        return default if hit is None else hit[1]

    def put(self, key: Any, size: int, value: Any) -> None:
        """Remember ``value`` for ``key``, whose text is ``size`` characters long (unless too long)."""
        if size > self.max_text:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._used -= old[0]
            self._items[key] = (size, value)
            self._used += size
            while self._items and (len(self._items) > self.entries or self._used > self.chars):
                self._used -= self._items.pop(next(iter(self._items)))[0]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._used = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def chars_used(self) -> int:
        return self._used


def memo_by_text(func: F) -> F:
    """Memoise ``func(text, *args)`` in a :class:`TextMemo` keyed by all its arguments.

    The wrapper has ``cache_clear()`` as ``functools.lru_cache`` wrappers do.
    """
    memo = TextMemo()

    @wraps(func)
    def wrapper(text: str, *args: Any) -> Any:
        key = (text, *args)
        found = memo.get(key)
        if found is _MISSING:
            found = func(text, *args)
            memo.put(key, len(text), found)
        return found

    wrapper.cache_clear = memo.clear  # type: ignore[attr-defined]
    wrapper.memo = memo  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
