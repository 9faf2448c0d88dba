"""Media: upload as multipart ``media``; the fetch_media job stores citizens' files content-addressed,
idempotently, and leaves nothing half-written when it fails."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import Tenant
from tests.wechat.fake_api import FakeWeChat
from tests.wechat.helpers import citizen, inbound
from wenzheng import db as wz_db
from wenzheng.attachments.store import LocalFileStore, get_store
from wenzheng.channels.wechat import outbound
from wenzheng.config import get_settings, reset_settings_cache
from wenzheng.db import utcnow
from wenzheng.errors import InvalidInput, NotFound, PayloadTooLarge
from wenzheng.jobs.models import Job
from wenzheng.jobs.queue import enqueue
from wenzheng.jobs.worker import run_until_idle
from wenzheng.messages.models import Attachment

GET = "/cgi-bin/media/get"
PHOTO = b"\xff\xd8\xff\xe0" + "积水照片".encode() * 300


@pytest.fixture
def session() -> Iterator[Session]:
    with wz_db.session_factory()() as session:
        yield session


def attachment(db: Session, tenant: Tenant, media_id: str) -> Attachment:
    message = inbound(db, tenant.account, citizen(db, tenant.account, f"o-{media_id}"), kind="image")
    row = Attachment(agency_id=tenant.agency.id, message_id=message.id, kind="image", channel_media_id=media_id)
    db.add(row)
    db.commit()
    return row


def fetch(session: Session, row: Attachment) -> None:
    """Enqueue the job as intake does; inline mode runs it when the session commits."""
    enqueue(session, "wechat.fetch_media", {"attachment_id": row.id}, agency_id=row.agency_id)
    session.commit()


def reloaded(db: Session, row: Attachment) -> Attachment:
    return db.scalars(select(Attachment).where(Attachment.id == row.id).execution_options(populate_existing=True)).one()


def stored_files() -> list[Path]:
    root = get_settings().attachments_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def fetch_jobs(db: Session) -> list[Job]:
    return list(db.scalars(select(Job).where(Job.task == "wechat.fetch_media").order_by(Job.id)))


def test_upload_sends_the_file_as_the_multipart_field_media(
    session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    uploaded = outbound.upload_media(session, tenant.account, "image", "积水.jpg", PHOTO, "image/jpeg")
    session.commit()

    [call] = wechat.calls("/cgi-bin/media/upload")
    assert call.params["type"] == "image"
    assert call.json["filename"] == "积水.jpg"
    assert call.json["content_type"] == "image/jpeg"
    assert wechat.media[uploaded.media_id] == (PHOTO, "image/jpeg")
    assert uploaded.type == "image"
    assert uploaded.created_at > 0


def test_upload_refuses_files_wechat_would_refuse(session: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    with pytest.raises(InvalidInput):
        outbound.upload_media(session, tenant.account, "thumb", "big.jpg", b"x" * (64 * 1024 + 1), "image/jpeg")
    with pytest.raises(InvalidInput):
        outbound.upload_media(session, tenant.account, "gif", "a.gif", b"GIF89a", "image/gif")
    assert wechat.count("/cgi-bin/media/upload") == 0


def test_fetch_media_stores_the_bytes_by_their_sha256(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    wechat.media["MEDIA_PHOTO"] = (PHOTO, "image/jpeg")
    row = attachment(db, tenant, "MEDIA_PHOTO")

    fetch(session, row)

    stored = reloaded(db, row)
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert (stored.state, stored.sha256, stored.size) == ("stored", digest, len(PHOTO))
    assert stored.content_type == "image/jpeg"
    assert stored.stored_at is not None and stored.error is None
    assert stored_files() == [get_settings().attachments_dir / digest[:2] / digest]
    with get_store().open(digest) as handle:
        assert handle.read() == PHOTO
    assert [job.state for job in fetch_jobs(db)] == ["done"]


def test_a_video_is_fetched_from_the_address_media_get_gives(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    clip = b"\x00\x00\x00\x18ftypmp42" + "被困视频".encode() * 500
    wechat.media["MEDIA_VIDEO"] = (clip, "video/mp4")
    row = attachment(db, tenant, "MEDIA_VIDEO")

    fetch(session, row)

    stored = reloaded(db, row)
    assert (stored.state, stored.sha256, stored.content_type) == (
        "stored",
        hashlib.sha256(clip).hexdigest(),
        "video/mp4",
    )
    assert wechat.count(GET) == 1 and wechat.count("/video-cdn/MEDIA_VIDEO") == 1


def test_a_video_address_that_fails_leaves_the_attachment_pending_for_the_retry(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    wechat.media["MEDIA_VIDEO"] = (b"\x00\x00\x00\x18ftypmp42clip", "video/mp4")
    wechat.video_cdn_down = True
    row = attachment(db, tenant, "MEDIA_VIDEO")

    fetch(session, row)

    assert reloaded(db, row).state == "pending"
    assert [(job.state, job.attempts) for job in fetch_jobs(db)] == [("queued", 1)]
    assert stored_files() == []

    wechat.video_cdn_down = False
    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(hours=1))

    assert reloaded(db, row).state == "stored"
    assert len(stored_files()) == 1


def test_fetch_media_is_idempotent_and_the_same_bytes_are_kept_once(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    wechat.media["MEDIA_A"] = (PHOTO, "image/jpeg")
    wechat.media["MEDIA_B"] = (PHOTO, "image/jpeg")  # the same photo, sent again by another citizen
    first, second = attachment(db, tenant, "MEDIA_A"), attachment(db, tenant, "MEDIA_B")

    fetch(session, first)
    fetch(session, first)  # a doubled job
    fetch(session, second)

    assert wechat.count(GET) == 2
    assert reloaded(db, first).sha256 == reloaded(db, second).sha256
    assert len(stored_files()) == 1


def test_an_expired_media_id_fails_the_attachment_without_retrying(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    row = attachment(db, tenant, "MEDIA_FOUR_DAYS_OLD")  # the fake answers 40007 as JSON labelled text/plain

    fetch(session, row)

    failed = reloaded(db, row)
    assert failed.state == "failed"
    assert failed.error is not None and failed.error.startswith("wechat_media_expired:")
    assert failed.sha256 is None
    [job] = fetch_jobs(db)
    assert (job.state, job.attempts) == ("done", 0)
    assert stored_files() == []


def test_a_busy_wechat_leaves_the_attachment_pending_for_the_retry(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    wechat.media["MEDIA_PHOTO"] = (PHOTO, "image/jpeg")
    wechat.fail(GET, -1)
    row = attachment(db, tenant, "MEDIA_PHOTO")

    fetch(session, row)

    assert reloaded(db, row).state == "pending"
    assert [(job.state, job.attempts) for job in fetch_jobs(db)] == [("queued", 1)]
    assert stored_files() == []

    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(hours=1))

    assert reloaded(db, row).state == "stored"
    assert len(stored_files()) == 1


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_written(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WENZHENG_ATTACHMENT_MAX_BYTES", "1024")
    reset_settings_cache()
    wechat.media["MEDIA_BIG"] = (PHOTO, "image/jpeg")
    row = attachment(db, tenant, "MEDIA_BIG")

    fetch(session, row)

    failed = reloaded(db, row)
    assert failed.state == "failed"
    assert failed.error is not None and failed.error.startswith("attachment_too_large:")
    assert stored_files() == []


def test_the_store_writes_atomically_and_refuses_what_is_not_a_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalFileStore(tmp_path, max_bytes=1024)
    digest, size = store.put(b"first")
    assert (digest, size) == (hashlib.sha256(b"first").hexdigest(), 5)
    assert store.put(b"first") == (digest, size)
    assert store.exists(digest)

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError):
        store.put(b"second")
    second = hashlib.sha256(b"second").hexdigest()
    assert not store.exists(second)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [digest]  # no temporary file left

    with pytest.raises(PayloadTooLarge):
        store.put(b"x" * 1025)
    with pytest.raises(NotFound):
        store.open(second)
    with pytest.raises(NotFound):
        store.path("../../etc/passwd")
