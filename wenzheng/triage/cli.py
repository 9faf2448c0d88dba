"""``wenzheng triage``: classify messages from the command line, evaluate on the shared data, rebuild the models."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import typer

from wenzheng.clitools import friendly
from wenzheng.errors import InvalidInput, NotFound

app = typer.Typer(no_args_is_help=True, help="Triage: classify, evaluate and train (a pure library, no database).")
BATCH = 256


@app.command()
@friendly
def classify(
    input_file: Path | None = typer.Option(None, "--input", help="A CSV file (default: JSON Lines on stdin)."),
    text_column: str = typer.Option("text", help="CSV column with the message text."),
    id_column: str = typer.Option("id", help="CSV column with the message id (default: the row number)."),
    rules_file: Path | None = typer.Option(None, "--rules", help="JSON list of routing rules."),
    countries: list[str] = typer.Option(
        [],
        "--country",
        help="ISO code of a country the agency works in (HT, CN…), for English place names' "
        "coordinates; repeat for more than one.",
    ),
) -> None:
    """Read messages ({"id", "text"} JSON Lines on stdin, or a CSV) and print one JSON result per line."""
    from wenzheng.triage import ClusterIndex, triage_batch

    _check_countries(countries)  # before reading the input: a typo is told at once, not after a batch
    rules = _read_rules(rules_file) if rules_file else []
    messages = _read_csv(input_file, text_column, id_column) if input_file else _read_jsonl(sys.stdin)
    index = ClusterIndex()
    out = sys.stdout
    for batch in _batches(messages):
        for result in triage_batch(batch, rules=rules, cluster_index=index, countries=countries):
            out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    out.flush()


@app.command("eval")
@friendly
def evaluate_command(
    data: Path = typer.Option(Path("../shared/data"), "--data", help="Folder with the labelled datasets."),
) -> None:
    """Per-class precision/recall/F1, average precision, top-10% share and throughput for each dataset."""
    from wenzheng.triage.evaluate import evaluate

    for section in evaluate(data):
        typer.echo(section.title)
        for line in section.lines:
            typer.echo(line)


@app.command()
@friendly
def train(
    data: Path = typer.Option(Path("../shared/data"), "--data", help="Folder with the labelled datasets."),
    out: Path | None = typer.Option(None, help="Where to write the artifacts (default: the package's own)."),
) -> None:
    """Rebuild the shipped model artifacts from the shared data (deterministic: same data, same bytes)."""
    from wenzheng.triage.train import ARTIFACTS
    from wenzheng.triage.train import train as run_training

    if not data.is_dir():
        raise NotFound(f"no data folder at {data}: training needs ../shared/data", code="data_not_found")
    manifest = run_training(data, out or ARTIFACTS)
    typer.echo(f"wrote {out or ARTIFACTS} ({manifest['version']})")


def _check_countries(countries: list[str]) -> None:
    from wenzheng.triage.world import load_towns

    try:
        load_towns(countries)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="unknown_country") from None


def _read_jsonl(stream: TextIO) -> Iterator[dict[str, str]]:
    try:
        yield from _parse_jsonl(stream)
    except UnicodeDecodeError:
        raise InvalidInput("standard input is not UTF-8 text", code="bad_jsonl") from None


def _parse_jsonl(stream: TextIO) -> Iterator[dict[str, str]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number} is not JSON: {exc.msg}", code="bad_jsonl") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InvalidInput(f'line {number} needs a "text" string', code="bad_jsonl")
        yield {"id": str(item.get("id", number)), "text": item["text"]}


def _read_csv(path: Path, text_column: str, id_column: str) -> Iterator[dict[str, str]]:
    if not path.is_file():
        raise NotFound(f"no such file: {path}", code="file_not_found")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            if text_column not in columns:
                listed = ", ".join(columns)
                raise InvalidInput(f"{path} has no column {text_column!r} (columns: {listed})", code="bad_csv")
            for number, row in enumerate(reader, start=1):
                yield {"id": row[id_column] if id_column in columns else str(number), "text": row[text_column] or ""}
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text", code="bad_csv") from None


def _read_rules(path: Path) -> list[dict[str, Any]]:
    try:
        rules = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no such file: {path}", code="file_not_found") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not JSON: {exc.msg}", code="bad_rules") from None
    if not isinstance(rules, list) or not all(isinstance(r, dict) and "department" in r for r in rules):
        raise InvalidInput(f'{path} must hold a list of rules, each with a "department"', code="bad_rules")
    return rules


def _batches(messages: Iterable[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    batch: list[dict[str, str]] = []
    for message in messages:
        batch.append(message)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
