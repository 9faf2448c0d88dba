"""A citizen's mail (RFC 5322 bytes) → what intake needs: text, sender, threading headers, attachments.

Parsing never touches the database. Chinese mail often declares GB2312 while using characters only
GBK or GB18030 has, so every member of that family is decoded as GB18030 (a superset of both); an
undecodable byte becomes U+FFFD rather than losing the whole mail.
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import hashlib
import re
from dataclasses import dataclass
from email.header import Header, decode_header
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

CHANNEL = "email"
MAX_ID_LENGTH = 200  # messages.channel_message_id
MAX_ADDRESS_LENGTH = 200  # citizen_handles.handle: a longer From is treated as no sender at all
REF_IN_SUBJECT = re.compile(r"(?<!\d)(\d{8}-\d{6,})(?!\d)")
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# GB2312 and GBK are subsets of GB18030; mail clients mislabel between them all the time.
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030"}
AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# Where mail programs start quoting the mail being answered (Foxmail, QQ Mail, Outlook, Gmail, Apple Mail).
QUOTE_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:原始邮件|原始郵件|Original Message|回复的原邮件)\s*-{2,}"
    r"|On\b.{0,200}\bwrote:|在.{0,200}写道[:：]|发件人[:：]|From:\s.+@)",
    re.IGNORECASE,
)
# Where a signature starts: the "-- " delimiter (RFC 3676), or the line a phone's mail program adds.
SIGNATURE_START = re.compile(
    r"^(?:--$|(?:发自我的|来自我的|Sent from my |Get Outlook for ).{0,40}$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without angle brackets; a digest of the bytes when the mail has none
    sender: str  # the From address, lower-cased ("" when there is none)
    subject: str
    text: str
    sent_at: dt.datetime | None
    # Message-IDs this mail answers, most recent first (In-Reply-To, then References from the end).
    replied_ids: tuple[str, ...] = ()
    references: tuple[str, ...] = ()  # the References header as sent, oldest first
    attachments: tuple[MailAttachment, ...] = ()
    automatic: bool = False  # an auto-reply, bounce or list mail: never answered automatically
    has_own_id: bool = True

    @property
    def subject_refs(self) -> tuple[str, ...]:
        """References such as 20130420-000123 quoted in the subject."""
        return tuple(REF_IN_SUBJECT.findall(self.subject))


def parse_mail(raw: bytes, *, envelope_sender: str | None = None) -> ParsedMail:
    """Parse a whole mail. ``envelope_sender`` (MAIL FROM; "" for a bounce's null sender, None when
    unknown) stands in when there is no From header."""
    message = email.message_from_bytes(raw)
    own_id = _first_id(message.get("Message-ID", ""))
    sender = _sender(message) or _fit_address((envelope_sender or "").strip().lower())
    in_reply_to = _ids(message.get("In-Reply-To", ""))
    references = _ids(message.get("References", ""))
    text = body_text(message)
    return ParsedMail(
        message_id=_fit(own_id) if own_id else "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender=sender,
        subject=header_text(message.get("Subject", "")).strip(),
        text=without_quote(text) if in_reply_to or references else text,
        sent_at=_date(message.get("Date", "")),
        replied_ids=tuple(dict.fromkeys((*in_reply_to, *reversed(references)))),
        references=references,
        attachments=tuple(_attachments(message)),
        automatic=is_automatic(message, envelope_sender),
        has_own_id=bool(own_id),
    )


def header_text(value: object) -> str:
    """An RFC 2047 header (=?GB2312?B?...?=) as text, decoding the GB family as GB18030. Raw 8-bit
    headers (unlabelled, as some Chinese mail programs send them) are read as UTF-8, else GB18030."""
    parts = []
    for chunk, charset in decode_header(value if isinstance(value, Header) else str(value)):
        if isinstance(chunk, str):  # raw bytes the parser kept as surrogate escapes come back as bytes
            chunk = chunk.encode("utf-8", "surrogateescape")
        parts.append(decode_bytes(chunk, charset) if charset else _unlabelled(chunk))
    return _printable(re.sub(r"\s+", " ", "".join(parts)))


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in the declared charset; an unknown charset is read as if unlabelled."""
    name = (charset or "utf-8").strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        return _printable(data.decode(name, errors="replace"))
    except LookupError:
        return _unlabelled(data)


def _unlabelled(data: bytes) -> str:
    try:
        return _printable(data.decode("utf-8"))
    except UnicodeDecodeError:
        return _printable(data.decode("gb18030", errors="replace"))


def _printable(text: str) -> str:
    """Without NUL, which no database text column takes."""
    return text.replace("\x00", "")


def body_text(message: email.message.Message) -> str:
    """The mail's text: the first text/plain part, else the first text/html converted to text."""
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = _part_text(part)
        elif part.get_content_type() == "text/html" and html is None:
            html = _part_text(part)
    if plain is not None and plain.strip():
        return _tidy(plain)
    return html_to_text(html) if html else ""


def without_quote(text: str) -> str:
    """What an answer adds: the text before the quoted mail it answers and before the sender's signature,
    without "> " lines (so a rating answered as 「5」 from a phone is just 「5」). The whole text when nothing
    would be left (a citizen who writes below the quote)."""
    kept = []
    for line in text.split("\n"):
        if QUOTE_START.match(line) or SIGNATURE_START.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    new = _tidy("\n".join(kept))
    return new or text


def html_to_text(html: str) -> str:
    """Readable text from HTML: block elements become line breaks; scripts, styles and heads are dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _tidy(parser.text())


def is_automatic(message: email.message.Message, envelope_sender: str | None = None) -> bool:
    """Whether answering could start a mail loop (RFC 3834): auto-replies, bounces, list and bulk mail."""
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto_submitted != "no"
        or precedence in AUTOMATIC_PRECEDENCE
        or message.get("List-Id") is not None
        or (envelope_sender is not None and envelope_sender.strip() in ("", "<>"))
    )


def _part_text(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())


def _is_attachment(part: email.message.Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
    if disposition == "attachment" or part.get_filename():
        return True
    return part.get_content_maintype() not in ("text", "multipart", "message")


def _attachments(message: email.message.Message) -> list[MailAttachment]:
    found = []
    for part in message.walk():
        if part.is_multipart() or not _is_attachment(part):
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            filename = header_text(part.get_filename() or "").strip()[:200]
            found.append(MailAttachment(filename, part.get_content_type()[:100], data))
    return found


def _sender(message: email.message.Message) -> str:
    addresses = getaddresses([header_text(v) for v in message.get_all("From", [])])
    return _fit_address(next((address.strip().lower() for _name, address in addresses if "@" in address), ""))


def _fit_address(address: str) -> str:
    return address if len(address) <= MAX_ADDRESS_LENGTH else ""


def _ids(value: object) -> tuple[str, ...]:
    return tuple(_fit(found) for found in MESSAGE_ID.findall(str(value)))


def _first_id(value: object) -> str:
    ids = _ids(value)
    if ids:
        return ids[0]
    bare = str(value).strip()
    return _fit(bare) if bare and " " not in bare else ""


def _fit(message_id: str) -> str:
    """A Message-ID short enough for the de-duplication key; an overlong one is replaced by its digest."""
    if len(message_id) <= MAX_ID_LENGTH:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


def _date(value: object) -> dt.datetime | None:
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t\u00a0\u3000]+", " ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "hr"}
    )
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self._chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self._chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._chunks.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        return "".join(self._chunks)
