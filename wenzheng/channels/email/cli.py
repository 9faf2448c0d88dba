"""``wenzheng smtpd``: receive citizens' mail for every account with an e-mail address."""

from __future__ import annotations

import threading

import typer

from wenzheng.clitools import friendly, out
from wenzheng.errors import Unavailable


@friendly
def smtpd(
    host: str = typer.Option("", help="Address to listen on; default WENZHENG_SMTPD_HOST."),
    port: int = typer.Option(0, min=0, max=65535, help="Port to listen on; default WENZHENG_SMTPD_PORT."),
) -> None:
    """Run the SMTP listener until interrupted (Ctrl-C). Point the agency's MX record here."""
    from wenzheng.channels.email.smtpd import make_controller

    controller = make_controller(host or None, port or None)
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:
        raise Unavailable(f"cannot listen on {controller.hostname}:{controller.port} ({exc})") from exc
    out.print(f"wenzheng smtpd listening on {controller.hostname}:{controller.port}", highlight=False)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        out.print("stopping", highlight=False)
    finally:
        controller.stop()
