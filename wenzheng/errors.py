"""Error types: each carries an HTTP status, a machine-readable code and a message a person can act on.

They are mapped to HTTP once, in ``wenzheng.web.errors``; the CLI prints their message as one line.
"""

from __future__ import annotations

from typing import Any


class WenzhengError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(WenzhengError):
    status = 400
    code = "bad_request"


class InvalidInput(WenzhengError):
    status = 422
    code = "invalid_input"


class Unauthenticated(WenzhengError):
    status = 401
    code = "not_authenticated"


class Forbidden(WenzhengError):
    status = 403
    code = "forbidden"


class NotFound(WenzhengError):
    status = 404
    code = "not_found"


class Conflict(WenzhengError):
    status = 409
    code = "conflict"


class PayloadTooLarge(WenzhengError):
    status = 413
    code = "payload_too_large"


class RateLimited(WenzhengError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after_seconds": retry_after})
        self.retry_after = retry_after


class Unavailable(WenzhengError):
    status = 503
    code = "unavailable"
