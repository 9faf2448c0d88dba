"""Rendering a decided reply as WeChat passive-reply XML (protocols.md 1.6), encrypted when asked (1.7)."""

from __future__ import annotations

import time
from typing import Any

from wenzheng.channels.wechat import crypto

SUCCESS = b"success"


def cdata(value: str) -> str:
    """CDATA that survives a ']]>' inside the content."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render(reply: dict[str, Any], *, to_user: str, from_user: str, now: int | None = None) -> str:
    head = (
        f"<ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now or int(time.time())}</CreateTime>"
    )
    if reply["type"] == "news":
        items = "".join(
            "<item>"
            f"<Title>{cdata(a['title'])}</Title><Description>{cdata(a.get('description', ''))}</Description>"
            f"<PicUrl>{cdata(a.get('picurl', ''))}</PicUrl><Url>{cdata(a['url'])}</Url>"
            "</item>"
            for a in reply["articles"]
        )
        body = f"<MsgType>{cdata('news')}</MsgType><ArticleCount>{len(reply['articles'])}</ArticleCount>"
        return f"<xml>{head}{body}<Articles>{items}</Articles></xml>"
    return f"<xml>{head}<MsgType>{cdata('text')}</MsgType><Content>{cdata(reply['content'])}</Content></xml>"


def encrypted_envelope(xml: str, *, token: str, aes_key: str, app_id: str, timestamp: str, nonce: str) -> str:
    encrypted = crypto.encrypt(aes_key, xml.encode(), app_id)
    signature = crypto.signature(token, timestamp, nonce, encrypted)
    return (
        f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )
