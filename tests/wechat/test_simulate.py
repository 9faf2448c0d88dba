"""`wenzheng wechat simulate` against a running server, on the demo account, as a newcomer would try it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from wenzheng.cli import app
from wenzheng.demo import seed_demo
from wenzheng.followers.models import Follower
from wenzheng.messages.models import Message

runner = CliRunner()


def test_simulated_pushes_reach_the_demo_account(db: Session, live_server: str) -> None:
    seed_demo(db)
    plea = runner.invoke(
        app, ["wechat", "simulate", "--account", "yaan", "--url", live_server, "我们被困在姚桥镇，求救"]
    )
    assert plea.exit_code == 0, plea.output
    assert "encrypted push" in plea.output and "受理编号" in plea.output
    assert db.execute(select(Message.text).where(Message.channel_message_id.not_like("demo-%"))).scalar_one() == (
        "我们被困在姚桥镇，求救"
    )
    donate = runner.invoke(app, ["wechat", "simulate", "--account", "yaan", "--url", live_server, "我想捐款"])
    assert "红十字会" in donate.output
    follow = runner.invoke(
        app,
        [
            "wechat",
            "simulate",
            "--account",
            "yaan",
            "--url",
            live_server,
            "--event",
            "subscribe",
            "--event-key",
            "qrscene_shelter-3",
            "--openid",
            "o_new",
        ],
    )
    assert "感谢关注芦山地震救助" in follow.output
    assert db.execute(select(Follower.tags).where(Follower.handle == "o_new")).scalar_one() == ["qrscene:shelter-3"]


def test_simulate_explains_mistakes_in_one_line(db: Session) -> None:
    seed_demo(db)
    unknown = runner.invoke(app, ["wechat", "simulate", "--account", "nowhere", "hi"])
    assert unknown.exit_code == 2 and "unknown_account" in unknown.output
    down = runner.invoke(app, ["wechat", "simulate", "--account", "yaan", "--url", "http://127.0.0.1:9", "hi"])
    assert down.exit_code == 2 and "make demo" in down.output and "Traceback" not in down.output
