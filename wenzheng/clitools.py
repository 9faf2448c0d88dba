"""What every command shares: one clear line on stderr and exit 2 for a person's mistake, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from wenzheng.errors import WenzhengError

err = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn expected failures into one line on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WenzhengError as exc:
            _fail(f"{exc.message} [{exc.code}]")
        except ValidationError as exc:
            first = exc.errors()[0]
            _fail(f"invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}")
        except OperationalError as exc:
            _fail(f"cannot reach the database: {str(exc.orig).splitlines()[0] if exc.orig else exc}")

    return wrapper  # type: ignore[return-value]


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)
