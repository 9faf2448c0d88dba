"""What can go wrong when wenzheng calls WeChat, as types a case screen can explain.

WeChat answers ``{"errcode": N, "errmsg": "..."}``; ``error_for`` turns that into the matching
type. Our own pre-checks (the 48-hour window, the quotas) raise the same types before calling, so a
caller handles "WeChat refused" and "we knew WeChat would refuse" in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar

from wenzheng.errors import Conflict, Unavailable, WenzhengError

# Codes that mean the access token itself is bad: refresh it once, then retry the call once.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
SYSTEM_BUSY = -1


class WeChatApiError(WenzhengError):
    """WeChat refused a call. ``errcode`` is WeChat's code (None when our own pre-check refused)."""

    status = 502
    code = "wechat_api_error"
    retryable: ClassVar[bool] = False

    def __init__(self, errcode: int | None, errmsg: str = "", message: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.response: dict[str, Any] = {}  # WeChat's whole answer (45065 carries the original msg_id)
        text = message or f"WeChat refused the request (errcode {errcode}: {errmsg or 'no message'})."
        super().__init__(text, details={"errcode": errcode, "errmsg": errmsg})


class WeChatBusy(WeChatApiError):
    """errcode -1: WeChat's own system is busy; the same call later usually succeeds."""

    status = 503
    code = "wechat_busy"
    retryable = True

    def __init__(self, errcode: int | None = SYSTEM_BUSY, errmsg: str = "system error") -> None:
        super().__init__(errcode, errmsg, "WeChat is busy right now; wenzheng will try again shortly.")


class AccessTokenRejected(WeChatApiError):
    """40001 / 40014 / 42001: the token is invalid or expired. Handled by the token service's retry."""

    code = "wechat_token_rejected"

    def __init__(self, errcode: int | None, errmsg: str = "") -> None:
        super().__init__(
            errcode,
            errmsg,
            "WeChat rejected the account's access token even after a refresh. Check the AppID, the AppSecret "
            "and the IP whitelist in the WeChat admin console.",
        )


class OutsideReplyWindow(WeChatApiError):
    """45015: the citizen last wrote more than 48 hours ago, or has unfollowed the account."""

    status = 409
    code = "wechat_outside_window"

    def __init__(self, errcode: int | None = 45015, errmsg: str = "") -> None:
        super().__init__(
            errcode,
            errmsg,
            "Outside WeChat's 48-hour reply window — reply by SMS or through the status link.",
        )


class ReplyQuotaExhausted(WeChatApiError):
    """45047: the customer-service messages allowed since the citizen's last message are used up."""

    status = 429
    code = "wechat_reply_quota_exhausted"

    def __init__(self, errcode: int | None = 45047, errmsg: str = "") -> None:
        super().__init__(
            errcode,
            errmsg,
            "WeChat allows only 5 replies after each message from the citizen, and they are used up — "
            "wait for the citizen to write again, or reply by SMS or through the status link.",
        )


class MassSendQuotaExhausted(WeChatApiError):
    """45028, or our own count: the account's mass sends for the day (subscription) or month (service)."""

    status = 429
    code = "wechat_mass_quota_exhausted"

    def __init__(self, errcode: int | None = 45028, errmsg: str = "", message: str | None = None) -> None:
        super().__init__(
            errcode,
            errmsg,
            message
            or "The account has no mass sends left (a subscription account has 1 a day, a service account 4 a "
            "calendar month) — publish on the web page and feeds instead, or wait for the quota to renew.",
        )


class MediaExpired(WeChatApiError):
    """40007: the media id is unknown or older than WeChat's 3 days; fetching again cannot help."""

    status = 410
    code = "wechat_media_expired"

    def __init__(self, errcode: int | None = 40007, errmsg: str = "") -> None:
        super().__init__(
            errcode,
            errmsg,
            "WeChat no longer has this file (media ids last 3 days) — ask the citizen to send it again.",
        )


class ApiQuotaExceeded(WeChatApiError):
    """45009: a daily API quota of the account is used up."""

    status = 429
    code = "wechat_api_quota_exceeded"
    retryable = True

    def __init__(self, errcode: int | None = 45009, errmsg: str = "") -> None:
        super().__init__(
            errcode,
            errmsg,
            "The account has used up today's WeChat API quota for this call; it renews at midnight (Beijing time).",
        )


class WeChatUnreachable(Unavailable):
    """A network failure or a non-JSON answer: nothing is known about the outcome; retrying is right."""

    code = "wechat_unreachable"
    retryable: ClassVar[bool] = True

    def __init__(self, detail: str) -> None:
        super().__init__(f"WeChat's API could not be reached ({detail}); wenzheng will try again.")


class WeChatNotConfigured(Conflict):
    """The account has no WeChat binding, or its AppID / AppSecret are missing."""

    code = "wechat_not_configured"


_BY_ERRCODE: dict[int, type[WeChatApiError]] = {
    SYSTEM_BUSY: WeChatBusy,
    40001: AccessTokenRejected,
    40014: AccessTokenRejected,
    42001: AccessTokenRejected,
    45015: OutsideReplyWindow,
    45047: ReplyQuotaExhausted,
    45028: MassSendQuotaExhausted,
    40007: MediaExpired,
    45009: ApiQuotaExceeded,
}


def error_for(errcode: int, errmsg: str = "") -> WeChatApiError:
    """The typed error for WeChat's ``errcode``; the generic WeChatApiError for codes without a type."""
    kind = _BY_ERRCODE.get(errcode)
    if kind is None:
        return WeChatApiError(errcode, errmsg)
    return kind(errcode, errmsg)


def is_retryable(error: BaseException) -> bool:
    """Whether trying the same call later may succeed (a busy or unreachable WeChat, a daily quota)."""
    return bool(getattr(error, "retryable", False))
