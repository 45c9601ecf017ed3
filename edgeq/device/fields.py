"""Reading board settings from a Board object or a plain dict alike (tests pass either)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def field_of(obj: Any, *names: str, default: Any = None) -> Any:
    """Field lookup that works on dicts, dataclasses and plain objects; dotted names nest."""
    for name in names:
        cur = obj
        for part in name.split("."):
            if cur is None:
                break
            cur = cur.get(part) if isinstance(cur, Mapping) else getattr(cur, part, None)
        if cur is not None:
            return cur
    return default
