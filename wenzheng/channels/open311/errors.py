"""Open311 errors: the spec allows three HTTP statuses (404 missing, 403 api_key, 400 anything else), and
the body's ``code`` may be a more specific number (413 too large, 415 wrong content type)."""

from __future__ import annotations

from wenzheng.errors import WenzhengError


class Open311Error(Exception):
    """One error in the Open311 format: ``status`` goes on the response, ``code`` in the body."""

    def __init__(self, status: int, description: str, *, code: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code if code is not None else status
        self.description = description

    @classmethod
    def of(cls, error: WenzhengError) -> Open311Error:
        """The Open311 form of one of our own errors (an unknown token, text too long…)."""
        if error.status in (401, 403):
            return cls(403, error.message)
        if error.status == 404:
            return cls(404, error.message)
        return cls(400, error.message, code=error.status)


def bad_request(description: str, *, code: int = 400) -> Open311Error:
    return Open311Error(400, description, code=code)


def forbidden(description: str) -> Open311Error:
    return Open311Error(403, description)


def not_found(description: str) -> Open311Error:
    return Open311Error(404, description)
