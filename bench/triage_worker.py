"""The triage worker's throughput: how fast it drains a backlog of stored messages (assess, store, place in cases).

    python -m bench.triage_worker [--messages 4000] [--mix e2e|real] [--pg postgresql+psycopg://…/postgres]
                                  [--profile FILE]

Stores ``--messages`` WeChat messages from 2,000 citizens through intake (``accept_many``, as the intake writer
does; the fast lane left out), then runs the worker's jobs in this process until none is due and prints the
messages drained per second. The baseline, measured in the same run on the same texts, is the bare triage
library (``triage_batch`` in the worker's batches, a fresh near-duplicate index, no database): the worker can be
no faster, and the ratio says what storing and placing cost on top. ``--mix e2e`` is the background of
bench/e2e_triage.py (one short report, numbered, written again and again: one large duplicate cluster); ``real``
is the messages of ../shared/data (generated ones when absent), with lone digits (ratings) mixed in.
On SQLite by default; ``--pg`` names a PostgreSQL server database to connect through: a fresh database is created
beside it for the run and dropped afterwards. ``--profile`` writes the worker's cProfile stats to FILE.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.e2e_triage import database
from bench.wechat_ingest import prepare_wenzheng

CITIZENS = 2000
STORE_BATCH = 256
E2E_TEXT = "第{n}条：路面塌陷，请派人查看"


def texts_for(mix: str, count: int, data: Path) -> tuple[list[str], str]:
    if mix == "e2e":
        return [E2E_TEXT.format(n=4 * 10**15 + n) for n in range(count)], "the e2e bench's background"
    from bench.triage import corpus

    return corpus(data, count)


@dataclass(frozen=True)
class Rate:
    messages: int
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU time: what other work on a shared machine disturbs least

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def per_cpu_second(self) -> float:
        return self.messages / self.cpu_seconds


def library_rate(texts: list[str], batch: int) -> Rate:
    """The bare triage library over the same texts, in the worker's batches: messages per second."""
    from wenzheng.assessments.core import models
    from wenzheng.triage import ClusterIndex, TriageInput, triage_batch

    index = ClusterIndex()
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        inputs = [TriageInput(id=str(start + i), text=t) for i, t in enumerate(texts[start : start + batch])]
        triage_batch(inputs, cluster_index=index, models=models())
    return Rate(len(texts), time.perf_counter() - started, time.process_time() - cpu)


def store_messages(texts: list[str], mix: str, seed: int) -> None:
    """Store the texts as WeChat messages through intake, waiting for triage (no fast lane)."""
    from sqlalchemy import select

    from wenzheng import db
    from wenzheng.accounts.models import Account
    from wenzheng.assessments.tasks import FAST_LANE
    from wenzheng.intake.actions import AcceptRequest, accept_many
    from wenzheng.intake.inbound import Inbound

    rng = random.Random(seed)
    with db.session_factory()() as session:
        account = session.execute(select(Account).where(Account.slug == "bench")).scalar_one()
        for start in range(0, len(texts), STORE_BATCH):
            requests = []
            for n, text in enumerate(texts[start : start + STORE_BATCH], start):
                if mix == "real" and rng.random() < 0.03:
                    text = str(rng.randint(1, 5))  # a lone digit: a rating, if a case awaits one
                inbound = Inbound(
                    channel="wechat",
                    channel_message_id=str(10**15 + n),
                    kind="text",
                    handle=f"o_citizen_{rng.randrange(CITIZENS)}",
                    text=text,
                )
                requests.append(AcceptRequest(account, inbound, decide_reply=lambda *_args: None))
            accept_many(session, requests)
            session.info.pop(FAST_LANE, None)  # the worker's throughput, not the fast lane's
            session.commit()


def drain(profile: str | None) -> tuple[float, float, int]:
    """Run the worker's due jobs until none is left; (seconds, CPU seconds, messages still waiting)."""
    from sqlalchemy import func, select

    from wenzheng import db
    from wenzheng.jobs.worker import run_until_idle
    from wenzheng.messages.models import Message

    factory = db.session_factory()
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    run_until_idle(factory, "bench")
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with factory() as session:
        left = session.execute(select(func.count()).where(Message.triage_pending.is_(True))).scalar_one()
    return elapsed, cpu, int(left)


def main() -> None:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
        os.environ.setdefault(variable, "1")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--mix", choices=("e2e", "real"), default="e2e")
    parser.add_argument("--pg", metavar="URL", default=None, help="a PostgreSQL server database to connect through")
    parser.add_argument("--profile", metavar="FILE", default=None)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    engine_name = "PostgreSQL" if args.pg else "SQLite"
    print(
        f"Triage worker — {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} CPUs, {engine_name}, "
        f"{args.messages:,} messages ({args.mix} mix) from {CITIZENS:,} citizens, one worker in this process"
    )
    texts, source = texts_for(args.mix, args.messages, args.data)
    print(f"  texts: {source}")
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp), args.pg) as url:
        prepare_wenzheng(Path(tmp), url)
        from sqlalchemy import func, select

        from wenzheng import db
        from wenzheng.assessments.core import models
        from wenzheng.assessments.tasks import BATCH
        from wenzheng.cases.models import Case

        models()  # loaded before the clock starts, as in a running worker
        library = library_rate(texts, BATCH)
        store_messages(texts, args.mix, args.seed)
        elapsed, cpu, left = drain(args.profile)
        with db.session_factory()() as session:
            cases = session.execute(select(func.count()).select_from(Case)).scalar_one()
        db.reset_engine()
    worker = Rate(args.messages - left, elapsed, cpu)
    print(
        f"  bare triage library (batches of {BATCH}, no database)   {library.per_second:7,.0f} msg/s"
        f"   ({library.per_cpu_second:,.0f} per CPU second)"
    )
    print(
        f"  worker: {worker.messages:,} messages in {elapsed:.2f} s            {worker.per_second:7,.0f} msg/s"
        f"   ({worker.per_cpu_second:,.0f} per CPU second)"
    )
    print(
        f"  worker ÷ library: {worker.per_second / library.per_second:.2f} "
        f"({worker.per_cpu_second / library.per_cpu_second:.2f} in CPU time); goal ≥ 1,000 msg/s"
    )
    print(f"  cases: {cases:,}; still waiting: {left:,}")


if __name__ == "__main__":
    main()
