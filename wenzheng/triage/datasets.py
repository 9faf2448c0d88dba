"""Readers for the shared labelled data (../shared/data), with the fixed train/test splits that train and eval share.

The data never enters the repository; only what is derived from it (the artifacts) does.
"""

from __future__ import annotations

import csv
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from wenzheng.errors import NotFound

GOV = "gov-messages-zh"
DISASTER = "disaster-response-en"
HENAN = "henan-flood-weibo-zh"
CRISISLEX = "crisislex-t6-en"
LIFE_SAFETY_COLUMNS = ("search_and_rescue", "medical_help", "missing_people")
_SPACES = re.compile(r"\s+")

csv.field_size_limit(10_000_000)


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: str
    split: str  # "train" or "test"


def require(data: Path, name: str) -> Path:
    """The folder of one dataset, or a clear error naming what is missing."""
    folder = data / name
    if not folder.is_dir():
        raise NotFound(f"no {name} folder in {data} (the shared data is not here)", code="data_not_found")
    return folder


def gov_split(message_id: str) -> str:
    """A fixed 80/20 split of the government messages by a hash of their id (the eval never trains on "test")."""
    return "test" if zlib.crc32(message_id.encode()) % 5 == 0 else "train"


def gov_messages(data: Path) -> list[Example]:
    """The 953 labelled 网络问政 messages: title and body, labelled with their first-level department/topic."""
    with (require(data, GOV) / "labelled.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [
            Example(
                id=row["留言编号"],
                text=_SPACES.sub(" ", f"{row['留言主题']} {row['留言详情']}").strip(),
                label=row["label"],
                split=gov_split(row["留言编号"]),
            )
            for row in csv.DictReader(handle)
        ]


def gov_taxonomy(data: Path) -> list[tuple[str, str]]:
    """The organiser's second- and third-level topic names, each with the first-level topic it belongs to
    (物价监督 → 商贸旅游): names that appear under one first-level topic only, and never the catch-all 其他."""
    path = require(data, GOV) / "label_taxonomy.csv"
    if not path.is_file():
        raise NotFound(
            f"no label_taxonomy.csv in {path.parent} (the router learns its topic names)", code="data_not_found"
        )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        owners: dict[str, set[str]] = {}
        for row in csv.DictReader(handle):
            for name in (row["二级分类"].strip(), row["三级分类"].strip()):
                if name:
                    owners.setdefault(name, set()).add(row["一级分类"].strip())
    return [
        (name, next(iter(topics))) for name, topics in sorted(owners.items()) if len(topics) == 1 and name != "其他"
    ]


def disaster_messages(data: Path) -> list[Example]:
    """English disaster messages labelled "1" when search and rescue, medical help or missing people.

    The source's own train/validation split is kept (validation is our test split). Ids that appear twice with
    conflicting labels keep their first row.
    """
    seen: set[str] = set()
    examples = []
    with (require(data, DISASTER) / "messages_train_validation.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["id"] in seen or not row["message"].strip():
                continue
            seen.add(row["id"])
            positive = any(row[column] == "1" for column in LIFE_SAFETY_COLUMNS)
            split = "test" if row["split"] == "validation" else "train"
            examples.append(Example(row["id"], row["message"], "1" if positive else "0", split))
    return examples


def disaster_originals(data: Path) -> list[Example]:
    """The SMS of disaster-response-en as they were sent — mostly Haitian Creole, some French — with the labels of
    their English translations; only where the original differs from the translation. Same ids and splits as
    :func:`disaster_messages`, so a message and its original are always on the same side of the split."""
    by_id = {e.id: e for e in disaster_messages(data)}
    examples = []
    with (require(data, DISASTER) / "messages_train_validation.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            english = by_id.pop(row["id"], None)  # the first row of an id, as disaster_messages keeps it
            original = row["original"].strip()
            if english is not None and original and original != row["message"].strip():
                examples.append(Example(row["id"], original, english.label, english.split))
    return examples


def crisislex_tweets(data: Path, *, every: int = 10) -> list[Example]:
    """Every ``every``-th CrisisLex T6 tweet, labelled "1" when crowd workers judged it on-topic for its crisis."""
    examples = []
    for path in sorted(require(data, CRISISLEX).glob("*/*-ontopic_offtopic.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for number, row in enumerate(reader):
                if number % every == 0 and len(row) >= 3:
                    label = "1" if row[2].strip() == "on-topic" else "0"
                    examples.append(Example(row[0].strip("' "), row[1], label, "test"))
    return examples
