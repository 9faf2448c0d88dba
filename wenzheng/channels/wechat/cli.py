"""``wenzheng wechat …``: try an account's WeChat channel without a real WeChat account."""

from __future__ import annotations

import itertools
import time

import httpx
import typer
from sqlalchemy import select

from wenzheng.channels.wechat.simulate import Credentials
from wenzheng.clitools import friendly, out
from wenzheng.errors import NotFound, Unavailable

app = typer.Typer(no_args_is_help=True, help="WeChat Official Account channel.")


@app.command()
@friendly
def simulate(
    text: str = typer.Argument("", help="What the citizen writes (leave empty with --event)."),
    account: str = typer.Option(..., "--account", help="The account's slug, as in /wechat/{slug}."),
    event: str = typer.Option("", help="Send an event instead: subscribe, unsubscribe, CLICK, LOCATION …"),
    event_key: str = typer.Option("", help="EventKey of the event (qrscene_… for a subscribe by QR code)."),
    openid: str = typer.Option("o_simulated_citizen", help="The citizen's OpenID."),
    encrypt: bool | None = typer.Option(None, "--encrypt/--plain", help="Default: as the account's mode says."),
    url: str = typer.Option("", help="Server base URL; default WENZHENG_BASE_URL."),
) -> None:
    """Send a signed (and, in safe mode, encrypted) push exactly as WeChat would, and print the reply."""
    from wenzheng.channels.wechat.simulate import event_xml, open_reply, signed_push, text_xml
    from wenzheng.config import get_settings

    credentials, mode = _credentials(account)
    now = int(time.time())
    extra = f"<EventKey><![CDATA[{event_key}]]></EventKey>" if event_key else ""
    xml = (
        event_xml(event, openid=openid, create_time=now, original_id=credentials.original_id, extra=extra)
        if event
        else text_xml(text, openid=openid, msg_id=_msg_id(), original_id=credentials.original_id)
    )
    use_aes = encrypt if encrypt is not None else mode != "plaintext"
    query, body = signed_push(credentials, xml, encrypt=use_aes)
    target = f"{(url or get_settings().base_url).rstrip('/')}/wechat/{account}?{query}"
    try:
        response = httpx.post(target, content=body, headers={"Content-Type": "text/xml"}, timeout=10)
    except httpx.HTTPError as exc:
        raise Unavailable(f"cannot reach {target.split('?')[0]} ({exc}); is `make demo` running?") from exc
    out.print(f"HTTP {response.status_code} ({'encrypted' if use_aes else 'plaintext'} push)", highlight=False)
    shown = open_reply(credentials, response.content) if response.status_code == 200 else response.text
    out.print(shown, highlight=False, markup=False)


def _credentials(slug: str) -> tuple[Credentials, str]:
    from wenzheng.accounts.models import Account
    from wenzheng.channels.wechat.models import WeChatBinding
    from wenzheng.db import session_scope

    with session_scope() as session:
        row = session.execute(
            select(WeChatBinding).join(Account, Account.id == WeChatBinding.account_id).where(Account.slug == slug)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(
                f"No account {slug!r} is connected to WeChat; connect it on its console page.", code="unknown_account"
            )
        credentials = Credentials(
            token=row.token, app_id=row.app_id, aes_key=row.aes_key, original_id=row.original_id or "gh_wenzheng_demo"
        )
        return credentials, row.encryption_mode


_counter = itertools.count()


def _msg_id() -> int:
    """A MsgId that differs from any earlier run, as WeChat's are unique."""
    return time.time_ns() // 1000 + next(_counter)
