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
        # Open311 GeoReport v2: the spec makes every GET public (the answers carry nothing about reporters),
        # and a POST proves itself with the agency's api_key in the form instead of a login.
        ("GET", "/open311/v2/discovery.{fmt}"),
        ("GET", "/open311/v2/services.{fmt}"),
        ("GET", "/open311/v2/services/{service_code}.{fmt}"),
        ("GET", "/open311/v2/requests.{fmt}"),
        ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"),
        ("POST", "/open311/v2/requests.{fmt}"),
        # The SMS gateway signs each webhook body with the shared secret (HMAC-SHA256).
        ("POST", "/sms/inbound"),
        ("POST", "/sms/receipts"),
        # The citizen page: citizens have no accounts; rate limits, a honeypot and private link tokens guard it.
        ("GET", "/c/{account}"),
        ("POST", "/c/{account}/messages"),
        ("GET", "/c/{account}/s/{token}"),
        ("POST", "/c/{account}/s/{token}/follow-up"),
        ("POST", "/c/{account}/follow"),
        # A bulletin mail's unsubscribe link: it names the follower with an HMAC under the secret key.
        ("GET", "/c/{account}/unsubscribe/{token}"),
        ("POST", "/c/{account}/unsubscribe/{token}"),
        # Following by mail, confirmed: the link carries the sealed request (followers.confirmations).
        ("GET", "/c/{account}/follow/{token}"),
        ("POST", "/c/{account}/follow/{token}"),
        # Following by SMS from the page, second step: the number, the county and the code texted to it.
        ("POST", "/c/{account}/confirm-follow"),
        # What an account published is public: its bulletins, their feeds and the alerts' CAP documents.
        ("GET", "/c/{account}/bulletins.atom"),
        ("GET", "/c/{account}/alerts.atom"),
        ("GET", "/c/{account}/bulletins/{bulletin_id}/cap.xml"),
        ("GET", "/c/{account}/bulletins/{bulletin_id}"),
        ("GET", "/c/{account}/bulletins/events"),
        ("GET", "/c/{account}/bulletins/{bulletin_id}/image"),
        # Web Push for the citizen page: a browser subscribes itself; its endpoint is its only credential.
        ("GET", "/c/{account}/push/key"),
        ("POST", "/c/{account}/push/subscriptions"),
        ("POST", "/c/{account}/push/subscriptions/delete"),
        ("GET", "/c/{account}/sw.js"),
    }
)

PUBLIC_MOUNTS: frozenset[str] = frozenset({"/static"})
