"""The case lifecycle of the 12345 hotlines, and which moves between states staff may make."""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    RECEIVED = "received"  # 受理
    DISPATCHED = "dispatched"  # 派单
    IN_PROGRESS = "in_progress"  # 承办
    ANSWERED = "answered"  # 答复
    RESOLVED = "resolved"  # 办结
    FOLLOWED_UP = "followed_up"  # 回访
    CLOSED = "closed"  # 归档


OPEN_STATES = frozenset({CaseState.RECEIVED, CaseState.DISPATCHED, CaseState.IN_PROGRESS, CaseState.ANSWERED})

# Moves a person may make; assigning and answering also move a case (see actions).
ALLOWED_MOVES: dict[CaseState, frozenset[CaseState]] = {
    CaseState.RECEIVED: frozenset({CaseState.DISPATCHED, CaseState.IN_PROGRESS, CaseState.RESOLVED}),
    CaseState.DISPATCHED: frozenset({CaseState.IN_PROGRESS, CaseState.RESOLVED}),
    CaseState.IN_PROGRESS: frozenset({CaseState.ANSWERED, CaseState.RESOLVED}),
    CaseState.ANSWERED: frozenset({CaseState.IN_PROGRESS, CaseState.RESOLVED}),
    CaseState.RESOLVED: frozenset({CaseState.FOLLOWED_UP, CaseState.CLOSED, CaseState.IN_PROGRESS}),
    CaseState.FOLLOWED_UP: frozenset({CaseState.CLOSED, CaseState.IN_PROGRESS}),
    CaseState.CLOSED: frozenset({CaseState.IN_PROGRESS}),  # reopen
}

URGENCY_ORDER = ("P0", "P1", "P2", "P3")


def more_urgent(a: str | None, b: str | None) -> str | None:
    """The more urgent of two levels (P0 beats P3); None counts as unknown."""
    known = [u for u in (a, b) if u in URGENCY_ORDER]
    return min(known, key=URGENCY_ORDER.index) if known else None
