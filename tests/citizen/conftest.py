"""Fixtures for the citizen page: the local SMS gateway that texts the follow codes."""

from tests.sms.conftest import _gateway_server, gateway  # noqa: F401 - fixtures used by these tests
