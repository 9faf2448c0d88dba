from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.triage.conftest import LUSHAN_PLEA, SPAM_LINE
from wenzheng.cli import app

runner = CliRunner()


def test_classify_jsonl_stdin_to_stdout() -> None:
    lines = [json.dumps({"id": "p", "text": LUSHAN_PLEA}), json.dumps({"id": "s", "text": SPAM_LINE})]
    result = runner.invoke(app, ["triage", "classify"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["id"], o["urgency"], o["spam"]) for o in out] == [("p", "P0", False), ("s", "P3", True)]


def test_classify_csv_with_named_columns_and_rules(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("编号,内容\n7,建议学校门口增设红绿灯\n", encoding="utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"department": "交警支队", "keywords": ["红绿灯"]}]), encoding="utf-8")
    args = ["triage", "classify", "--input", str(source), "--text-column", "内容", "--id-column", "编号"]
    result = runner.invoke(app, [*args, "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert (line["id"], line["department"]) == ("7", "交警支队")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["triage", "classify"], input="not json\n")
    assert result.exit_code == 2
    assert "line 1 is not JSON" in result.output
    assert "Traceback" not in result.output
    source = tmp_path / "in.csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["triage", "classify", "--input", str(source), "--text-column", "text"])
    assert result.exit_code == 2
    assert "has no column 'text'" in result.output


def test_eval_and_train_say_clearly_when_the_data_is_absent(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for command in ("eval", "train"):
        result = runner.invoke(app, ["triage", command, "--data", str(missing)])
        assert result.exit_code == 2
        assert "no data folder" in result.output


def test_eval_reports_each_absent_dataset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["triage", "eval", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("absent:") == 4


def test_csv_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "gbk.csv"
    source.write_bytes("text\n我们被困\n".encode("gbk"))
    result = runner.invoke(app, ["triage", "classify", "--input", str(source)])
    assert result.exit_code == 2
    assert "is not UTF-8 text" in result.output


def test_classify_with_the_agencys_countries_pins_english_places() -> None:
    line = json.dumps({"id": "d", "text": "Trapped in Delmas 33, please help"}) + "\n"
    result = runner.invoke(app, ["triage", "classify", "--country", "ht", "--country", "DO"], input=line)
    assert result.exit_code == 0, result.output
    (place,) = json.loads(result.stdout)["places"]
    assert place["admin"][1] == "Delmas" and place["lat"] is not None
    refused = runner.invoke(app, ["triage", "classify", "--country", "Haiti"], input=line)
    assert refused.exit_code == 2 and "unknown_country" in refused.output and "Traceback" not in refused.output
