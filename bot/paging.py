"""Lists that come a page at a time: the page, where it starts, and the total, so no door cuts silently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list: its items, where it starts, and how many there are in all, so a door
    can say "21–40 of 151" and offer "Next" / "Previous" instead of cutting silently."""

    items: list[T]
    total: int
    offset: int
    size: int

    @property
    def number(self) -> int:
        """1-based."""
        return self.offset // self.size + 1 if self.size else 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size)) if self.size else 1

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 on an empty page)."""
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)


def page_offset(page: int, size: int, total: int) -> int:
    """The offset of 1-based page `page`, clamped to the pages there are (a stale "Next" after the list
    shrank lands on the last page, not past it)."""
    pages = max(1, -(-total // size))
    return (min(max(1, page), pages) - 1) * size
