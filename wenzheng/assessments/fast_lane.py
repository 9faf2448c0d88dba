"""The fast lane: a plea must not wait behind a thousand ordinary messages for the worker.

Intake runs a cheap pre-check on what it stores (``possibly_life_threatening``: the lexicon's danger,
missing-person and SOS terms, a few microseconds a message). Once the transaction holding a flagged message has
committed — the citizen already has their answer — this process's fast-lane thread assesses it at once, in a
reader's transaction (no write lock held while the library runs), and hands the result to the intake writer,
which stores it and places the message in its case in its next batch (so the fast lane never contends with intake
for SQLite's write lock). The claim is the triage job's, so whichever of the two gets there first assesses the
message and the other passes over it. A message the fast lane does not take (too many at once, the process
stopped before) simply waits for the worker: nothing depends on the fast lane but speed.

With inline jobs (tests, tiny installs) the triage job itself runs right after the commit, and the fast lane
stays out of its way.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any

from sqlalchemy import select

from wenzheng import db
from wenzheng.assessments.core import compute, models, store
from wenzheng.messages.models import Message
from wenzheng.triage.cues import find_cues
from wenzheng.triage.normalize import detect_language
from wenzheng.triage.pipeline import ANALYSIS_CHARS

log = logging.getLogger(__name__)

PER_TRANSACTION = 32  # flagged messages taken from one intake transaction; in a flood of pleas, the worker helps
PER_ROUND = 64  # messages assessed together by the fast lane
MAX_WAITING = 16  # offers queued before more are left to the worker


def possibly_life_threatening(text: str) -> bool:
    """The pre-check: could triage call this P0? Cheap, and generous rather than strict — triage itself decides.
    A Chinese P0 is a rescue (a danger term) or a missing child; elsewhere the life-safety model leads, so pleas
    and medical terms count too. What it misses still reaches the worker."""
    if not text:
        return False
    head = text[:ANALYSIS_CHARS]
    lang = detect_language(head)
    hits = find_cues(head, lang)
    if hits.has("danger") or hits.has("missing") or hits.has("sos"):
        return True
    return lang != "zh" and (hits.has("plea") or hits.has("medical"))


def flagged(messages: Sequence[Message]) -> list[int]:
    """The ids of those of ``messages`` the fast lane should take."""
    return [m.id for m in messages if possibly_life_threatening(m.text or m.location_label or "")]


class FastLane:
    """One thread per process: assesses flagged messages as soon as they are committed."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        self._unfinished = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="wenzheng-fast-lane", daemon=True)
        self._thread.start()

    def offer(self, message_ids: list[int]) -> bool:
        """Take these committed messages; False (they wait for the worker) when too many are queued already."""
        with self._idle:
            if self._unfinished >= MAX_WAITING:
                return False
            self._unfinished += 1
        self._queue.put(message_ids)
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything offered so far is assessed and stored (or given up); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def _run(self) -> None:
        try:
            models()  # load the models now, not when the first plea is waiting
        except Exception:
            log.exception("fast lane: the triage models did not load; trying again with the first plea")
        while True:
            rounds = [self._queue.get()]
            ids = list(rounds[0])
            while len(ids) < PER_ROUND:
                try:
                    rounds.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                ids.extend(rounds[-1])
            try:
                self._assess(ids, done=partial(self._finished, len(rounds)))
            except Exception:
                log.exception("fast lane: %d messages left to the worker", len(ids))
                self._finished(len(rounds))

    def _assess(self, message_ids: list[int], *, done: Any) -> None:
        with db.read_scope() as reader:
            waiting = list(
                reader.execute(
                    select(Message).where(Message.id.in_(message_ids), Message.triage_pending.is_(True))
                ).scalars()
            )
            computed = compute(reader, waiting) if waiting else []
        if not computed:
            done()
            return
        from wenzheng.intake.writer import intake_writer  # the writer imports intake, which imports this package

        future = intake_writer().submit(partial(store, computed=computed))
        future.add_done_callback(lambda stored: self._stored(stored, done))

    def _stored(self, future: Future[int], done: Any) -> None:
        if future.exception() is not None:
            log.warning("fast lane: results not stored (%s); the worker will assess", future.exception())
        done()

    def _finished(self, offers: int) -> None:
        with self._idle:
            self._unfinished -= offers
            self._idle.notify_all()


_lane: FastLane | None = None
_lock = threading.Lock()


def fast_lane() -> FastLane:
    global _lane
    if _lane is not None:
        return _lane
    with _lock:
        if _lane is None:
            _lane = FastLane()
        return _lane
