from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A staff user's role in one agency, from least to most powerful."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank
