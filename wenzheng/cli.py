"""The ``wenzheng`` command line. A person's mistake prints one clear line and exits 2; never a traceback."""

from __future__ import annotations

import sys
import threading

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from wenzheng.channels.email.cli import smtpd as smtpd_command
from wenzheng.channels.wechat.cli import app as wechat_app
from wenzheng.clitools import err, friendly, out
from wenzheng.errors import WenzhengError
from wenzheng.triage.cli import app as triage_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="wenzheng (问政): public-service accounts.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
app.add_typer(triage_app, name="triage")
app.add_typer(wechat_app, name="wechat")
app.command("smtpd")(smtpd_command)


@db_app.command("upgrade")
@friendly
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the database schema to the latest revision."""
    from wenzheng.db import get_engine
    from wenzheng.migrate import current_revision, upgrade

    upgrade(get_engine(), revision)
    out.print(f"database at revision {current_revision(get_engine())}")


@app.command()
@friendly
def serve(host: str | None = typer.Option(None), port: int | None = typer.Option(None)) -> None:
    """Serve the web app (API, console, channel endpoints)."""
    import uvicorn

    from wenzheng.config import get_settings

    settings = get_settings()
    uvicorn.run(
        "wenzheng.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


@app.command()
@friendly
def worker(
    once: bool = typer.Option(False, help="Run the jobs that are due, then exit."),
    imports: list[str] = typer.Option([], "--import", help="Extra module with task definitions."),
) -> None:
    """Run background jobs until stopped (Ctrl-C finishes the current job first)."""
    from wenzheng.assessments.core import models as triage_models
    from wenzheng.assessments.core import warm_towns
    from wenzheng.config import get_settings
    from wenzheng.jobs.worker import run_worker

    triage_models()  # loaded before the first job claims a batch, not while messages wait
    warm_towns()
    run_worker(get_settings(), once=once, imports=tuple(imports))


secrets_app = typer.Typer(no_args_is_help=True, help="Stored secrets and the secret key.")
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("reseal")
@friendly
def secrets_reseal() -> None:
    """Seal every stored secret with WENZHENG_SECRET_KEY, after changing it (old keys in WENZHENG_PREVIOUS_SECRET_KEYS).

    Afterwards the previous keys are needed only for links already sent (unsubscribe, follow confirmations).
    """
    from wenzheng.db import session_scope
    from wenzheng.secrets_rotation import reseal_stored_secrets
    from wenzheng.staff.actor import Actor

    with session_scope() as session:
        report = reseal_stored_secrets(session, Actor.system("cli"))
    out.print(f"resealed {report.resealed} stored secret(s) with the current key")
    if report.unreadable:
        for what in report.unreadable:
            err.print(f"cannot open the {escape(what)}: no key opens it; enter it again in the console")
        raise typer.Exit(1)


@app.command("create-agency")
@friendly
def create_agency(slug: str, name: str, timezone: str = typer.Option("Asia/Shanghai")) -> None:
    """Add an agency (a tenant) to the platform."""
    from wenzheng.agencies.actions import do_create_agency
    from wenzheng.db import session_scope
    from wenzheng.staff.actor import Actor

    with session_scope() as session:
        agency = do_create_agency(session, Actor.system("cli"), slug=slug, name=name, timezone=timezone)
        out.print(f"created agency {agency.slug} (id {agency.id})")


@app.command("create-user")
@friendly
def create_user(
    username: str,
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, envvar="WENZHENG_NEW_USER_PASSWORD"
    ),
    display_name: str = typer.Option("", help="Name shown in the console."),
    agency: str = typer.Option("", help="Slug of the agency to join."),
    role: str = typer.Option("operator", help="Role in that agency: viewer, operator, supervisor, admin."),
    platform_admin: bool = typer.Option(False, help="Make the user a platform admin."),
) -> None:
    """Create a staff user, optionally with a role in one agency."""
    from sqlalchemy import select

    from wenzheng.agencies.models import Agency
    from wenzheng.db import session_scope
    from wenzheng.errors import NotFound
    from wenzheng.staff.actions import do_add_staff, do_create_user, parse_role
    from wenzheng.staff.actor import Actor

    actor = Actor.system("cli")
    with session_scope() as session:
        target = None
        if agency:
            target = session.execute(select(Agency).where(Agency.slug == agency)).scalar_one_or_none()
            if target is None:
                raise NotFound(f"No agency has the slug {agency!r}.", code="agency_not_found")
        chosen_role = parse_role(role)
        user = do_create_user(
            session,
            actor,
            username=username,
            display_name=display_name,
            password=password,
            is_platform_admin=platform_admin,
        )
        if target is not None:
            do_add_staff(session, actor, target, username=user.username, role=chosen_role)
        out.print(f"created user {user.username}" + (f" ({chosen_role.value} in {agency})" if target else ""))


@app.command()
@friendly
def demo(serve_it: bool = typer.Option(True, "--serve/--no-serve", help="Serve after seeding.")) -> None:
    """Migrate the database, seed the demo platform, print the logins, and serve it."""
    from wenzheng.config import get_settings
    from wenzheng.db import get_engine, session_scope
    from wenzheng.demo import DEMO_PASSWORD, seed_demo
    from wenzheng.migrate import upgrade

    outside = _demo_outside() if serve_it else ""
    settings = get_settings()
    upgrade(get_engine())
    with session_scope() as session:
        logins = seed_demo(session)
    table = Table(title=f"wenzheng demo — log in at {settings.base_url}/login (password: {DEMO_PASSWORD})")
    for column in ("username", "role", "agency"):
        table.add_column(column)
    for row in logins:
        table.add_row(*row)
    out.print(table)
    _print_wechat_demo(settings.base_url)
    if outside:
        out.print(
            f"[bold]Outside world[/bold]: WeChat's API and the SMS gateway are loopback stand-ins at {outside}, "
            f"the mail relay at 127.0.0.1:{get_settings().smtp_port} (they log what they are given; set "
            "WENZHENG_WECHAT_API_BASE, WENZHENG_SMS_GATEWAY_URL and WENZHENG_SMTP_* for real ones)",
            highlight=False,
            soft_wrap=True,
        )
    if serve_it:
        stop = _start_background_worker()
        try:
            serve(host=None, port=None)
        finally:
            stop.set()


def _demo_outside() -> str:
    """Point the demo at loopback stand-ins for WeChat and the SMS gateway, unless real ones are configured."""
    import os

    from wenzheng.channels.wechat.simulate import Credentials
    from wenzheng.config import get_settings, reset_settings_cache
    from wenzheng.demo import DEMO_WECHAT
    from wenzheng.demo_outside import ReceiptReporter, Reporter, start, start_mail_relay

    if os.environ.get("WENZHENG_WECHAT_API_BASE") or os.environ.get("WENZHENG_SMS_GATEWAY_URL"):
        return ""
    credentials = Credentials(
        token=DEMO_WECHAT["token"],
        app_id=DEMO_WECHAT["app_id"],
        aes_key=DEMO_WECHAT["aes_key"],
        original_id=DEMO_WECHAT["original_id"],
    )
    ours = get_settings().base_url.rstrip("/")
    base = start(Reporter(f"{ours}/wechat/yaan", credentials), ReceiptReporter(f"{ours}/sms/receipts"))
    os.environ["WENZHENG_WECHAT_API_BASE"] = base
    os.environ["WENZHENG_SMS_GATEWAY_URL"] = f"{base}/sms/send"
    if not os.environ.get("WENZHENG_SMTP_PORT"):
        os.environ["WENZHENG_SMTP_HOST"] = "127.0.0.1"
        os.environ["WENZHENG_SMTP_PORT"] = str(start_mail_relay())
    reset_settings_cache()
    return base


def _print_wechat_demo(base_url: str) -> None:
    from wenzheng.config import get_settings
    from wenzheng.demo import DEMO_SMS_NUMBER, DEMO_WECHAT

    out.print(
        "\n[bold]WeChat channel of 芦山地震救助[/bold] (what an agency enters in the WeChat console):\n"
        f"  server URL      {base_url.rstrip('/')}/wechat/yaan\n"
        f"  Token           {DEMO_WECHAT['token']}\n"
        f"  EncodingAESKey  {DEMO_WECHAT['aes_key']}   (safe mode, AppID {DEMO_WECHAT['app_id']})\n"
        '  try it:         .venv/bin/wenzheng wechat simulate --account yaan "我们被困在姚桥镇，求救"\n'
        f"\n[bold]Citizen page[/bold] (no WeChat needed): {base_url.rstrip('/')}/c/yaan\n"
        f"[bold]SMS[/bold]: the account's number is {DEMO_SMS_NUMBER}; gateway webhooks go to "
        f"{base_url.rstrip('/')}/sms/inbound\n"
        f"[bold]E-mail[/bold]: run `.venv/bin/wenzheng smtpd` and write to yaan@{get_settings().mail_domain} "
        f"(SMTP on {get_settings().smtpd_host}:{get_settings().smtpd_port})",
        highlight=False,
        soft_wrap=True,
    )


def _start_background_worker() -> threading.Event:
    """The demo runs its worker in-process, so one command shows everything working."""
    from wenzheng.config import get_settings
    from wenzheng.jobs.worker import run_worker

    stop = threading.Event()

    def work() -> None:
        try:
            run_worker(get_settings(), stop_event=stop, name="demo-worker")
        except WenzhengError as exc:
            err.print(f"[yellow]worker not started:[/yellow] {escape(exc.message)}", soft_wrap=True)

    threading.Thread(target=work, name="wenzheng-worker", daemon=True).start()
    return stop


def main() -> None:
    import logging

    from wenzheng.config import get_settings

    try:
        logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step is noise here
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"error: invalid setting {'.'.join(map(str, first['loc']))}: {escape(first['msg'])}", soft_wrap=True)
        sys.exit(2)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
