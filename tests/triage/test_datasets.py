"""The shared data's readers, on small files of the same shape (the unit tests never need ../shared/data)."""

from __future__ import annotations

import csv
from pathlib import Path

from wenzheng.triage.datasets import DISASTER, LIFE_SAFETY_COLUMNS, disaster_messages, disaster_originals

COLUMNS = ["id", "message", "original", "genre", *LIFE_SAFETY_COLUMNS, "split"]


def _write(folder: Path, rows: list[dict[str, str]]) -> Path:
    (folder / DISASTER).mkdir(parents=True)
    with (folder / DISASTER / "messages_train_validation.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, restval="0")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_originals_carry_their_translations_label_and_split(tmp_path: Path) -> None:
    data = _write(
        tmp_path,
        [
            {
                "id": "1",
                "message": "We are trapped, help",
                "original": "Nou bloke, ede nou",
                "genre": "direct",
                "search_and_rescue": "1",
                "split": "train",
            },
            {
                "id": "2",
                "message": "Where is the food?",
                "original": "Kote manje a?",
                "genre": "direct",
                "split": "validation",
            },
            {"id": "3", "message": "Thanks", "original": "Thanks", "genre": "direct", "split": "train"},  # the same
            {"id": "4", "message": "Flood news", "original": "", "genre": "news", "split": "train"},  # none
            {
                "id": "1",
                "message": "We are trapped, help",
                "original": "Nou bloke",
                "genre": "direct",
                "split": "train",
            },  # a second row of id 1: its first row counts, as for the English
        ],
    )
    originals = disaster_originals(data)
    assert [(e.id, e.text, e.label, e.split) for e in originals] == [
        ("1", "Nou bloke, ede nou", "1", "train"),
        ("2", "Kote manje a?", "0", "test"),
    ]
    english = {e.id: e for e in disaster_messages(data)}
    assert all((english[e.id].label, english[e.id].split) == (e.label, e.split) for e in originals)
