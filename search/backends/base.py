"""The protocol every search backend implements (same results contract for all)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from search.documents import ProductDocument
from search.query import SearchQuery, SearchResult, Suggestion


class SearchBackend(Protocol):
    name: str

    def ensure_index(self) -> None:
        """Create the index if missing (idempotent)."""

    def reset(self) -> None:
        """Drop and recreate the index (full reindex starts here)."""

    def upsert(self, docs: Sequence[ProductDocument]) -> None:
        """Insert or replace documents by id."""

    def delete(self, ids: Sequence[int]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    def refresh(self) -> None:
        """Make writes visible to searches."""

    def count(self) -> int: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def suggest(self, prefix: str, *, size: int) -> list[Suggestion]: ...
