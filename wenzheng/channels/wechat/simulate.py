"""Build pushes exactly as WeChat sends them, so anyone can try an account without a real one
(``wenzheng wechat simulate``) and tests can drive the callback end to end."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.reply import cdata


@dataclass(frozen=True)
class Credentials:
    token: str
    app_id: str = ""
    aes_key: str = ""
    original_id: str = "gh_wenzheng_demo"


def text_xml(content: str, *, openid: str, msg_id: int, original_id: str = "gh_wenzheng_demo") -> str:
    return _xml(openid, original_id, "text", f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId>")


def event_xml(
    event: str, *, openid: str, create_time: int, original_id: str = "gh_wenzheng_demo", extra: str = ""
) -> str:
    return _xml(openid, original_id, "event", f"<Event>{cdata(event)}</Event>{extra}", create_time)


def _xml(openid: str, original_id: str, msg_type: str, body: str, create_time: int | None = None) -> str:
    return (
        f"<xml><ToUserName>{cdata(original_id)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>{body}</xml>"
    )


def signed_push(
    credentials: Credentials, xml: str, *, encrypt: bool, timestamp: int | None = None
) -> tuple[str, bytes]:
    """(query string, body) of a push: signed always, AES-encrypted (safe mode) when asked."""
    stamp, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
    query = {"signature": crypto.signature(credentials.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
    if not encrypt:
        return urlencode(query), xml.encode()
    encrypted = crypto.encrypt(credentials.aes_key, xml.encode(), credentials.app_id)
    query |= {"encrypt_type": "aes", "msg_signature": crypto.signature(credentials.token, stamp, nonce, encrypted)}
    body = f"<xml><ToUserName>{cdata(credentials.original_id)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    return urlencode(query), body.encode()


def open_reply(credentials: Credentials, body: bytes) -> str:
    """The reply XML inside an answer, decrypting (and checking the signature of) an encrypted one."""
    from wenzheng.channels.wechat.parse import parse_xml

    text = body.decode()
    if "<Encrypt>" not in text:
        return text
    envelope = parse_xml(body)
    expected = crypto.signature(credentials.token, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"])
    if expected != envelope.get("MsgSignature"):
        raise ValueError("the reply's MsgSignature does not match")
    return crypto.decrypt(credentials.aes_key, envelope["Encrypt"], credentials.app_id).decode()
