"""Build the world outline of the console map (wenzheng/web/static/map/world.json) from Natural Earth.

The map's own outlines are China's (scripts/build_map_data.py). An agency that works elsewhere — Haiti, say,
whose English and Creole place names triage pins on towns there — would see its markers on blank ground without
tiles; this layer draws the countries of the world under China's outlines, coarse (Natural Earth's 1:110 million
admin-0 countries, public domain) but enough to see where a marker is.

Source: the ``naturalearth_lowres`` files that geopandas 0.14 shipped in its wheel (geopandas' own extract of
``ne_110m_admin_0_countries``). The shapefile and its table are read here directly (polygons and two text
columns: no GIS library needed), so the build is deterministic and needs nothing installed:

    pip download geopandas==0.14.4 --no-deps -d /tmp/gp
    unzip -q /tmp/gp/geopandas-0.14.4-py3-none-any.whl 'geopandas/datasets/naturalearth_lowres/*' -d /tmp/gp
    .venv/bin/python scripts/build_world_map.py --source /tmp/gp/geopandas/datasets/naturalearth_lowres

China and Taiwan are left out: China's own layer draws them in detail.
"""

from __future__ import annotations

import argparse
import hashlib
import struct
from pathlib import Path

from build_map_data import GRID, encode, write_json  # the same arc encoding and file layout as china.json

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "wenzheng" / "web" / "static" / "map" / "world.json"
# naturalearth_lowres.shp of geopandas 0.14.4: another file would give another map, so it is refused.
EXPECTED_SHA256 = "1f689e60b357e1e98702d5d9f774e95e77fc6b324487cadf57eb9317d533ce12"
LEFT_OUT = {"CHN", "TWN"}  # drawn by China's own layer


def read_table(path: Path) -> list[dict[str, str]]:
    """The dBASE table beside the shapefile: one dict of text per record."""
    data = path.read_bytes()
    count, header_size, record_size = struct.unpack("<IHH", data[4:12])
    fields = []
    at = 32
    while data[at] != 0x0D:
        name = data[at : at + 11].split(b"\0")[0].decode("ascii")
        fields.append((name, data[at + 16]))
        at += 32
    rows = []
    for n in range(count):
        start = header_size + n * record_size + 1  # the first byte marks a deleted record
        row, offset = {}, start
        for name, size in fields:
            row[name] = data[offset : offset + size].decode("utf-8", "replace").strip()
            offset += size
        rows.append(row)
    return rows


def read_polygons(path: Path) -> list[list[list[tuple[float, float]]]]:
    """Each record's rings (lon, lat) from a polygon shapefile (shape type 5)."""
    data = path.read_bytes()
    shapes: list[list[list[tuple[float, float]]]] = []
    at = 100
    while at < len(data):
        _number, length = struct.unpack(">ii", data[at : at + 8])
        content = data[at + 8 : at + 8 + 2 * length]
        at += 8 + 2 * length
        shape_type = struct.unpack("<i", content[:4])[0]
        if shape_type != 5:
            shapes.append([])
            continue
        parts, points = struct.unpack("<ii", content[36:44])
        starts = [*struct.unpack(f"<{parts}i", content[44 : 44 + 4 * parts]), points]
        xy = struct.unpack(f"<{2 * points}d", content[44 + 4 * parts : 44 + 4 * parts + 16 * points])
        coords = list(zip(xy[0::2], xy[1::2], strict=True))
        shapes.append([coords[starts[i] : starts[i + 1]] for i in range(parts)])
    return shapes


def quantized(ring: list[tuple[float, float]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lon, lat in ring:
        point = (round(lon * GRID), round(lat * GRID))
        if not out or out[-1] != point:
            out.append(point)
    return out


def label_point(rings: list[list[tuple[int, int]]]) -> list[float]:
    """The centre of the largest ring's bounding box: enough for a layer's origin (countries are not labelled)."""
    largest = max(rings, key=lambda ring: _area(ring))
    xs, ys = [x for x, _ in largest], [y for _, y in largest]
    return [round((min(xs) + max(xs)) / 2 / GRID, 3), round((min(ys) + max(ys)) / 2 / GRID, 3)]


def _area(ring: list[tuple[int, int]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))) / 2


def build(source: Path) -> dict[str, object]:
    shp = source / "naturalearth_lowres.shp"
    digest = hashlib.sha256(shp.read_bytes()).hexdigest()
    if digest != EXPECTED_SHA256:
        raise SystemExit(f"{shp}: not the file this script was written for (sha256 {digest}); see its docstring")
    rows = read_table(source / "naturalearth_lowres.dbf")
    arcs: list[list[int]] = []
    units: list[dict[str, object]] = []
    for row, rings in zip(rows, read_polygons(shp), strict=True):
        code = row["iso_a3"] if row["iso_a3"] != "-99" else ""  # Kosovo has no ISO code of its own
        if code in LEFT_OUT or not rings:
            continue
        kept = [q for q in (quantized(ring) for ring in rings) if len(q) >= 4]
        refs = []
        for ring in kept:
            refs.append([len(arcs)])
            arcs.append(encode(ring))
        xs = [x for ring in kept for x, _ in ring]
        ys = [y for ring in kept for _, y in ring]
        units.append(
            {
                "code": code,
                "name": row["name"],
                "label": label_point(kept),
                "bbox": [min(xs) / GRID, min(ys) / GRID, max(xs) / GRID, max(ys) / GRID],
                "rings": refs,
            }
        )
    return {
        "source": "Natural Earth 1:110m admin-0 countries (public domain), as geopandas 0.14.4 ships it",
        "datum": "WGS-84",
        "grid": GRID,
        "arcs": arcs,
        "kinds": [1] * len(arcs),
        "units": units,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="the naturalearth_lowres folder")
    args = parser.parse_args()
    data = build(args.source)
    size = write_json(OUT, data)
    print(f"wrote {OUT} ({size:,} bytes, {len(data['units'])} countries)")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
