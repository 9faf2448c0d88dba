"""Citizens' mail as their mail programs write it: raw RFC 5322 bytes, including GBK-encoded Chinese."""

from __future__ import annotations

import base64
import itertools
import smtplib
from email import policy
from email.header import Header
from email.message import EmailMessage

ACCOUNT_ADDRESS = "help@yaan.example.cn"
CITIZEN = "zhang.san@example.com"
RESCUE_TEXT = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，房子已经全部坍塌，求大家救救我们！联系人：王堃"
_ids = itertools.count(1)


def new_id() -> str:
    return f"{next(_ids)}.citizen@example.com"


def gbk_mail(text: str = RESCUE_TEXT, *, subject: str = "求救：姚桥镇", message_id: str | None = None) -> bytes:
    """As Foxmail writes it: labelled GB2312 though '堃' is only in GBK, base64 body, RFC 2047 subject."""
    body = base64.encodebytes(text.encode("gbk")).decode()
    lines = [
        f"From: {Header('张三', 'gbk').encode()} <{CITIZEN}>",
        f"To: {ACCOUNT_ADDRESS}",
        f"Subject: =?GB2312?B?{base64.b64encode(subject.encode('gbk')).decode()}?=",
        f"Message-ID: <{message_id or new_id()}>",
        "Date: Sat, 20 Apr 2013 10:15:00 +0800",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="gb2312"',
        "Content-Transfer-Encoding: base64",
        "",
        body,
    ]
    return "\r\n".join(lines).encode("ascii")


def mail(
    text: str = "请问临时安置点在哪里？",
    *,
    subject: str = "咨询安置点",
    sender: str = CITIZEN,
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A UTF-8 mail; with ``html`` an HTML-only one."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ACCOUNT_ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id or new_id()}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text)
    return message


def send(port: int, content: bytes | EmailMessage, *, to: str = ACCOUNT_ADDRESS, sender: str = CITIZEN) -> None:
    """Deliver as a citizen's mail server would (raises smtplib's errors on a refusal)."""
    raw = wire(content) if isinstance(content, EmailMessage) else content
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(sender, [to], raw)


def wire(message: EmailMessage) -> bytes:
    """The bytes on the wire: CRLF line ends (smtplib sends bytes as they are)."""
    return message.as_bytes(policy=policy.SMTP)
