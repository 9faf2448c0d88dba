"""A content-addressed file store: a file's name is the SHA-256 of its bytes.

The same bytes are stored once however often they arrive, and a name can never point at other
bytes. ``LocalFileStore`` keeps files under ``WENZHENG_ATTACHMENTS_DIR``; another backend (object
storage) only needs the three methods of ``AttachmentStore``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from wenzheng.config import get_settings
from wenzheng.errors import NotFound, PayloadTooLarge

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class AttachmentStore(Protocol):
    def put(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; its SHA-256 (hex) and size. Storing the same bytes again is a no-op."""

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes for reading; NotFound when there are none."""

    def exists(self, sha256: str) -> bool:
        """Whether bytes with this SHA-256 are stored."""

    def delete(self, sha256: str) -> bool:
        """Remove the stored bytes; whether there were any."""


class LocalFileStore:
    """Files under ``root``, at ``root/ab/abcdef...``: the first two hex digits spread them over folders."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def put(self, data: bytes) -> tuple[str, int]:
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(
                f"The file is {len(data)} bytes; attachments may be at most {self.max_bytes} bytes "
                "(WENZHENG_ATTACHMENT_MAX_BYTES).",
                code="attachment_too_large",
            )
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not target.exists():
            _write_atomically(target, data)
        return sha256, len(data)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise NotFound(f"No stored attachment has the SHA-256 {sha256}.", code="attachment_missing") from None

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def path(self, sha256: str) -> Path:
        """Where the bytes with this SHA-256 live (whether or not they are stored)."""
        if not SHA256_HEX.match(sha256):
            raise NotFound("That is not an attachment's SHA-256.", code="attachment_missing")
        return self.root / sha256[:2] / sha256


def get_store() -> LocalFileStore:
    """The store configured by the settings."""
    settings = get_settings()
    return LocalFileStore(settings.attachments_dir, settings.attachment_max_bytes)


def _write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside ``target``, then rename: readers see all of it or nothing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
