"""Routes that are deliberately reachable without logging in. Everything else requires authentication;
a meta-test walks every route of the app and fails when one is open but not listed here."""

from __future__ import annotations

PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/"),  # redirects to the console, which asks for a login
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/lang/{code}"),
        ("GET", "/healthz"),
        ("GET", "/api/v1/openapi.json"),
        # WeChat cannot log in: it proves itself with the account token's signature on every call.
        ("GET", "/wechat/{account}"),
        ("POST", "/wechat/{account}"),
        # The SMS gateway signs each webhook body with the shared secret (HMAC-SHA256).
        ("POST", "/sms/inbound"),
        ("POST", "/sms/receipts"),
    }
)

PUBLIC_MOUNTS: frozenset[str] = frozenset({"/static"})
