"""The HTTP client for WeChat's server API (protocols.md 1.9): one call in, a JSON object or a typed error out.

It knows nothing of tokens or the database: ``wenzheng.channels.wechat.tokens`` supplies the access
token and retries once when WeChat rejects it. The base URL is ``WENZHENG_WECHAT_API_BASE``, so the
tests point it at a local server that speaks the same contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

from wenzheng.channels.wechat.errors import WeChatUnreachable, error_for
from wenzheng.config import get_settings
from wenzheng.errors import PayloadTooLarge

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class Download:
    content: bytes
    content_type: str


def encode_json(body: dict[str, Any]) -> bytes:
    """UTF-8 JSON with Chinese as-is: some WeChat APIs show ``\\u`` escapes literally (protocols.md 1.9)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@lru_cache(maxsize=4)
def _client(base_url: str, timeout: float) -> httpx.Client:
    # One connection pool per base URL, shared by every thread of the process (httpx.Client is thread-safe).
    return httpx.Client(base_url=base_url, timeout=timeout, trust_env=False)


def http_client() -> httpx.Client:
    settings = get_settings()
    return _client(settings.wechat_api_base.rstrip("/"), settings.wechat_api_timeout_seconds)


def checked(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` when its errcode is 0 or absent; the typed error for the errcode otherwise."""
    errcode = body.get("errcode", 0)
    if errcode in (0, None):
        return body
    error = error_for(int(errcode), str(body.get("errmsg", "")))
    error.response = body
    raise error


def stable_token(app_id: str, secret: str, *, force_refresh: bool = False) -> TokenGrant:
    """POST /cgi-bin/stable_token: the account's token (the same one while it is valid, unless forced)."""
    body = {"grant_type": "client_credential", "appid": app_id, "secret": secret, "force_refresh": force_refresh}
    answer = _send("POST", "/cgi-bin/stable_token", content=encode_json(body), headers=JSON_HEADERS)
    return TokenGrant(access_token=str(answer["access_token"]), expires_in=int(answer["expires_in"]))


def post_json(path: str, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a JSON body to ``path`` with the token; WeChat's answer, or a typed error."""
    return _send("POST", path, params={"access_token": access_token}, content=encode_json(body), headers=JSON_HEADERS)


def upload(path: str, access_token: str, params: dict[str, str], file: tuple[str, bytes, str]) -> dict[str, Any]:
    """POST ``file`` (filename, bytes, content type) as the multipart field ``media``."""
    return _send("POST", path, params={"access_token": access_token, **params}, files={"media": file})


def download(path: str, access_token: str, params: dict[str, str], *, max_bytes: int) -> Download:
    """GET a file. A JSON answer is WeChat's error (40007 for an expired media id), never the file — except for
    a video, which media/get answers with ``{"video_url": …}``: a second GET, without the token, fetches it."""
    content, content_type = _get_file(path, {"access_token": access_token, **params}, max_bytes)
    if _is_json(content_type, content):
        answer = checked(_json(content, path))
        video_url = answer.get("video_url")
        if not isinstance(video_url, str) or not video_url.startswith(("https://", "http://")):
            raise WeChatUnreachable(f"{path} answered JSON without a file")
        content, content_type = _get_file(video_url, {}, max_bytes, default_type="video/mp4")
        if _is_json(content_type, content):
            raise WeChatUnreachable("the video address answered JSON, not the video")
    return Download(content=content, content_type=content_type.split(";")[0].strip())


def _get_file(
    url: str, params: dict[str, str], max_bytes: int, default_type: str = "application/octet-stream"
) -> tuple[bytes, str]:
    """The body and content type of a GET (``url`` relative to the API base, or absolute), at most ``max_bytes``."""
    try:
        with http_client().stream("GET", url, params=params) as response:
            content_type = response.headers.get("content-type", default_type)
            content = _read_limited(response, max_bytes)
    except httpx.HTTPError as error:
        raise WeChatUnreachable(_describe(error)) from error
    if response.status_code != 200:
        where = url.split("?", 1)[0]
        raise WeChatUnreachable(f"HTTP {response.status_code} from {where}")
    return content, content_type


def _send(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = http_client().request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise WeChatUnreachable(_describe(error)) from error
    if response.status_code != 200:
        raise WeChatUnreachable(f"HTTP {response.status_code} from {path}")
    return checked(_json(response.content, path))


def _json(content: bytes, path: str) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except ValueError as error:
        raise WeChatUnreachable(f"{path} answered something that is not JSON") from error
    if not isinstance(body, dict):
        raise WeChatUnreachable(f"{path} answered JSON that is not an object")
    return body


def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(
                f"The file is larger than the {max_bytes}-byte limit for attachments (WENZHENG_ATTACHMENT_MAX_BYTES).",
                code="attachment_too_large",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(content_type: str, content: bytes) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in ("application/json", "text/json") or (kind == "text/plain" and content.lstrip()[:1] == b"{")


def _describe(error: httpx.HTTPError) -> str:
    # The URL carries the access token: name the kind of failure, never the request.
    return type(error).__name__
