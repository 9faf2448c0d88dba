// The console's map: a small canvas renderer with grid clustering, drawn over the outlines shipped in
// /static/map/ (WGS-84) and, when one is configured, a tile server. No library and no build step; it
// stays smooth with 30,000 markers because only clusters are drawn, each zoom level clustered once.
// docs/map.md describes the data, the datums and the settings.
(function () {
  "use strict";

  const TILE = 256;
  const CELL = 64; // px: the clustering grid
  const MIN_ZOOM = 3;
  const MAX_ZOOM = 17;
  const COUNTY_ZOOM = 6; // from here on the county outlines of the provinces in view are drawn
  const COUNTY_LABEL_ZOOM = 8.5;
  // The world outline is Natural Earth's 1:110 million: closer in, its coasts are kilometres off (a town on the
  // shore would seem to lie in the sea), so it is not drawn; tiles show the detail.
  const WORLD_MAX_ZOOM = 6;
  const COLOURS = ["#c62828", "#ef6c00", "#1e63b5", "#7b8794", "#9aa5b1"]; // P0 P1 P2 P3, unknown
  const RANKS = {P0: 0, P1: 1, P2: 2, P3: 3};
  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif';

  // Web Mercator: world coordinates in [0, 256) at zoom 0.
  function project(lon, lat) {
    const s = Math.sin(Math.max(-85, Math.min(85, lat)) * Math.PI / 180);
    return [TILE * (lon + 180) / 360, TILE * (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI))];
  }

  // WGS-84 → GCJ-02, for drawing over Chinese tile servers (the same formula as wenzheng/datum.py).
  function toGcj(lon, lat) {
    if (!(lon > 73.66 && lon < 135.05 && lat > 3.86 && lat < 53.55)) return [lon, lat];
    const x = lon - 105, y = lat - 35, PI = Math.PI;
    const wave = (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    let dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) + wave;
    dLat += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    dLat += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    let dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) + wave;
    dLon += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    dLon += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    const a = 6378245, ee = 0.00669342162296594323, rad = lat / 180 * PI;
    const magic = 1 - ee * Math.sin(rad) ** 2, root = Math.sqrt(magic);
    dLat = (dLat * 180) / ((a * (1 - ee)) / (magic * root) * PI);
    dLon = (dLon * 180) / (a / root * Math.cos(rad) * PI);
    return [lon + dLon, lat + dLat];
  }

  function compact(n) {
    return n < 10000 ? String(n) : Math.round(n / 1000) + "k";
  }

  // One decoded outline file: a fill path per unit, a stroke path per kind of arc, and label points.
  function Layer(data, toWorld) {
    const grid = data.grid;
    const first = toWorld(data.units.length ? data.units[0].label[0] : 104, data.units.length ? data.units[0].label[1] : 35);
    this.origin = first; // paths are kept relative to a nearby origin: Path2D coordinates are single precision
    const arcs = data.arcs.map((flat) => {
      const out = [];
      let x = 0, y = 0;
      for (let i = 0; i < flat.length; i += 2) {
        x += flat[i];
        y += flat[i + 1];
        const w = toWorld(x / grid, y / grid);
        out.push(w[0] - first[0], w[1] - first[1]);
      }
      return out;
    });
    this.strokes = {};
    arcs.forEach((arc, i) => {
      const kind = data.kinds[i];
      const path = this.strokes[kind] || (this.strokes[kind] = new Path2D());
      path.moveTo(arc[0], arc[1]);
      for (let j = 2; j < arc.length; j += 2) path.lineTo(arc[j], arc[j + 1]);
    });
    this.units = data.units.map((unit) => {
      const fill = new Path2D();
      unit.rings.forEach((refs) => {
        let started = false;
        refs.forEach((ref) => {
          const arc = arcs[ref < 0 ? ~ref : ref];
          const n = arc.length / 2;
          for (let k = 0; k < n; k++) {
            const j = ref < 0 ? n - 1 - k : k;
            if (!started) { fill.moveTo(arc[2 * j], arc[2 * j + 1]); started = true; } else if (k > 0) fill.lineTo(arc[2 * j], arc[2 * j + 1]);
          }
        });
        fill.closePath();
      });
      const bbox = unit.bbox ? [toWorld(unit.bbox[0], unit.bbox[3]), toWorld(unit.bbox[2], unit.bbox[1])] : null;
      return {code: unit.code, name: unit.name, label: toWorld(unit.label[0], unit.label[1]), fill: fill, bbox: bbox};
    });
    this.lines = null;
    if (data.lines) {
      this.lines = new Path2D();
      data.lines.forEach((flat) => {
        let x = 0, y = 0;
        for (let i = 0; i < flat.length; i += 2) {
          x += flat[i];
          y += flat[i + 1];
          const w = toWorld(x / grid, y / grid);
          if (i === 0) this.lines.moveTo(w[0] - first[0], w[1] - first[1]); else this.lines.lineTo(w[0] - first[0], w[1] - first[1]);
        }
      });
    }
  }

  function WzMap(frame, options) {
    this.frame = frame;
    this.canvas = frame.querySelector("canvas");
    this.ctx = this.canvas.getContext("2d");
    this.options = options;
    this.labels = options.labels || {};
    this.tiles = options.tiles || {};
    this.gcj = this.tiles.url && this.tiles.datum === "gcj02";
    this.zoom = 4;
    this.center = project(104, 35);
    this.points = null;
    this.clusterCache = new Map();
    this.visible = [];
    this.china = null;
    this.world = null;
    this.counties = new Map();
    this.tileImages = new Map();
    this.popup = null;
    this.pending = false;
    this.toWorld = (lon, lat) => this.gcj ? project.apply(null, toGcj(lon, lat)) : project(lon, lat);
    this._controls();
    this._events();
    new ResizeObserver(() => this.redraw()).observe(frame);
  }

  WzMap.prototype.scale = function () { return Math.pow(2, this.zoom); };

  WzMap.prototype.size = function () {
    return [this.frame.clientWidth, this.frame.clientHeight];
  };

  WzMap.prototype.toScreen = function (x, y) {
    const s = this.scale(), size = this.size();
    return [(x - this.center[0]) * s + size[0] / 2, (y - this.center[1]) * s + size[1] / 2];
  };

  WzMap.prototype.toWorldAt = function (sx, sy) {
    const s = this.scale(), size = this.size();
    return [this.center[0] + (sx - size[0] / 2) / s, this.center[1] + (sy - size[1] / 2) / s];
  };

  WzMap.prototype.loadBase = function (baseUrl) {
    this.baseUrl = baseUrl;
    // The world's countries, coarse, drawn under China's outlines: an agency that works elsewhere (Haiti, say)
    // sees its markers on land it can recognise. The map works without it.
    fetch(baseUrl + "world.json").then((r) => r.json()).then((data) => {
      this.world = new Layer(data, this.toWorld);
      this.redraw();
    }).catch((error) => console.warn("map: the world outline did not load", error));
    return fetch(baseUrl + "china.json").then((r) => r.json()).then((data) => {
      this.china = new Layer(data, this.toWorld);
      this.redraw();
    });
  };

  // points: rows [id, lat, lon, urgency, exact]
  WzMap.prototype.setPoints = function (rows) {
    const n = rows.length;
    const xs = new Float64Array(n), ys = new Float64Array(n), ids = new Int32Array(n);
    const ranks = new Uint8Array(n), exact = new Uint8Array(n);
    rows.forEach((row, i) => {
      const w = this.toWorld(row[2], row[1]);
      xs[i] = w[0];
      ys[i] = w[1];
      ids[i] = row[0];
      ranks[i] = row[3] in RANKS ? RANKS[row[3]] : 4;
      exact[i] = row[4] ? 1 : 0;
    });
    this.points = {n: n, xs: xs, ys: ys, ids: ids, ranks: ranks, exact: exact};
    this.clusterCache.clear();
    this.redraw();
  };

  WzMap.prototype.level = function () {
    return Math.max(0, Math.min(MAX_ZOOM, Math.round(this.zoom)));
  };

  function radius(n) {
    return n === 1 ? 8 : Math.min(36, 12 + 5 * Math.log10(n));
  }

  // Grid clustering at one zoom level, computed once per level: O(n) with a hash of cells, then each
  // cluster absorbs the smaller ones in the cells around it that it would overlap on screen.
  WzMap.prototype.clustersAt = function (level) {
    if (this.clusterCache.has(level)) return this.clusterCache.get(level);
    const p = this.points, cell = CELL / Math.pow(2, level), cells = new Map(), out = [];
    for (let i = 0; p && i < p.n; i++) {
      const cx = Math.floor(p.xs[i] / cell), cy = Math.floor(p.ys[i] / cell), key = cx * 1048576 + cy;
      let c = cells.get(key);
      if (!c) {
        c = {cx: cx, cy: cy, keys: [key], n: 0, sx: 0, sy: 0, rank: 9, exact: 0, counts: [0, 0, 0, 0, 0]};
        cells.set(key, c);
        out.push(c);
      }
      c.n += 1;
      c.sx += p.xs[i];
      c.sy += p.ys[i];
      c.exact += p.exact[i];
      c.counts[p.ranks[i]] += 1;
      if (p.ranks[i] < c.rank) c.rank = p.ranks[i];
    }
    const px = Math.pow(2, level);
    out.sort((a, b) => b.n - a.n);
    out.forEach((a) => {
      if (a.absorbed) return;
      for (let dx = -1; dx <= 1; dx++) {
        for (let dy = -1; dy <= 1; dy++) {
          const b = cells.get((a.cx + dx) * 1048576 + a.cy + dy);
          if (!b || b === a || b.absorbed || b.n > a.n) continue;
          const d = Math.hypot(a.sx / a.n - b.sx / b.n, a.sy / a.n - b.sy / b.n) * px;
          if (d >= radius(a.n) + radius(b.n)) continue;
          b.absorbed = true;
          a.keys.push.apply(a.keys, b.keys);
          a.n += b.n; a.sx += b.sx; a.sy += b.sy; a.exact += b.exact;
          a.rank = Math.min(a.rank, b.rank);
          b.counts.forEach((k, r) => { a.counts[r] += k; });
        }
      }
    });
    const kept = out.filter((c) => !c.absorbed);
    kept.forEach((c) => { c.x = c.sx / c.n; c.y = c.sy / c.n; });
    kept.sort((a, b) => b.rank - a.rank || a.n - b.n); // the most urgent drawn last, on top
    this.clusterCache.set(level, kept);
    return kept;
  };

  WzMap.prototype.members = function (cluster, level) {
    const p = this.points, cell = CELL / Math.pow(2, level), keys = new Set(cluster.keys), found = [];
    for (let i = 0; i < p.n; i++) {
      if (keys.has(Math.floor(p.xs[i] / cell) * 1048576 + Math.floor(p.ys[i] / cell))) found.push(i);
    }
    found.sort((a, b) => p.ranks[a] - p.ranks[b]);
    return found;
  };

  WzMap.prototype.fitWorld = function (minX, minY, maxX, maxY, maxZoom) {
    const size = this.size(), pad = 40;
    const dx = Math.max(maxX - minX, 1e-9), dy = Math.max(maxY - minY, 1e-9);
    const zoom = Math.log2(Math.min((size[0] - 2 * pad) / dx, (size[1] - 2 * pad) / dy));
    this.zoom = Math.max(MIN_ZOOM, Math.min(maxZoom || 12, zoom));
    this.center = [(minX + maxX) / 2, (minY + maxY) / 2];
    this.redraw();
  };

  WzMap.prototype.fitPoints = function () {
    const p = this.points;
    if (!p || !p.n) {
      const a = this.toWorld(73, 54), b = this.toWorld(135, 18);
      return this.fitWorld(a[0], a[1], b[0], b[1]);
    }
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < p.n; i++) {
      minX = Math.min(minX, p.xs[i]); maxX = Math.max(maxX, p.xs[i]);
      minY = Math.min(minY, p.ys[i]); maxY = Math.max(maxY, p.ys[i]);
    }
    this.fitWorld(minX, minY, maxX, maxY, 11);
  };

  WzMap.prototype.zoomAround = function (zoom, sx, sy) {
    const before = this.toWorldAt(sx, sy);
    this.zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, zoom));
    const after = this.toWorldAt(sx, sy);
    this.center = [this.center[0] + before[0] - after[0], this.center[1] + before[1] - after[1]];
    this.redraw();
  };

  WzMap.prototype.redraw = function () {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  };

  WzMap.prototype.draw = function () {
    const size = this.size(), ratio = window.devicePixelRatio || 1, ctx = this.ctx;
    if (this.canvas.width !== Math.round(size[0] * ratio) || this.canvas.height !== Math.round(size[1] * ratio)) {
      this.canvas.width = Math.round(size[0] * ratio);
      this.canvas.height = Math.round(size[1] * ratio);
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = this.tiles.url ? "#f2f2f2" : "#e4e7eb"; // the sea, or where no outline reaches
    ctx.fillRect(0, 0, size[0], size[1]);
    if (this.tiles.url) this._drawTiles(size);
    this._drawOutlines(size, ratio);
    this._drawMarkers(size);
    this._placePopup();
    if (this.points && this.china && !this.frame.dataset.ready) {
      this.frame.dataset.ready = "1";
      window.wzMapReadyAt = performance.now();
      this.frame.dispatchEvent(new CustomEvent("map-ready"));
    }
  };

  WzMap.prototype._drawTiles = function (size) {
    const z = Math.max(0, Math.min(18, Math.round(this.zoom)));
    const k = Math.pow(2, this.zoom - z), px = TILE * k, count = Math.pow(2, z);
    const topLeft = this.toWorldAt(0, 0), bottomRight = this.toWorldAt(size[0], size[1]);
    const unit = TILE / count;
    for (let tx = Math.floor(topLeft[0] / unit); tx <= Math.floor(bottomRight[0] / unit); tx++) {
      for (let ty = Math.max(0, Math.floor(topLeft[1] / unit)); ty <= Math.min(count - 1, Math.floor(bottomRight[1] / unit)); ty++) {
        const x = ((tx % count) + count) % count;
        const url = this.tiles.url.replace("{z}", z).replace("{x}", x).replace("{y}", ty);
        let image = this.tileImages.get(url);
        if (!image) {
          if (this.tileImages.size > 400) this.tileImages.clear();
          image = new Image();
          image.onload = () => this.redraw();
          image.src = url;
          this.tileImages.set(url, image);
        }
        if (image.complete && image.naturalWidth) {
          const at = this.toScreen(tx * unit, ty * unit);
          this.ctx.drawImage(image, Math.round(at[0]), Math.round(at[1]), Math.ceil(px), Math.ceil(px));
        }
      }
    }
  };

  WzMap.prototype._inView = function (bbox, size) {
    if (!bbox) return true;
    const a = this.toScreen(bbox[0][0], bbox[0][1]), b = this.toScreen(bbox[1][0], bbox[1][1]);
    return b[0] >= 0 && a[0] <= size[0] && b[1] >= 0 && a[1] <= size[1];
  };

  WzMap.prototype._countyLayers = function (size) {
    const shown = new Map();
    if (!this.china || this.zoom < COUNTY_ZOOM) return shown;
    this.china.units.forEach((unit) => {
      if (!this._inView(unit.bbox, size)) return;
      const layer = this.counties.get(unit.code);
      if (layer === undefined) {
        this.counties.set(unit.code, null);
        fetch(this.baseUrl + "counties/" + unit.code + ".json").then((r) => r.json()).then((data) => {
          this.counties.set(unit.code, new Layer(data, this.toWorld));
          this.redraw();
        }).catch(() => this.counties.delete(unit.code));
      } else if (layer) {
        shown.set(unit.code, layer);
      }
    });
    return shown;
  };

  WzMap.prototype._withLayer = function (layer, ratio, paint) {
    const s = this.scale(), size = this.size(), ctx = this.ctx;
    const ox = (layer.origin[0] - this.center[0]) * s + size[0] / 2;
    const oy = (layer.origin[1] - this.center[1]) * s + size[1] / 2;
    ctx.setTransform(ratio * s, 0, 0, ratio * s, ratio * ox, ratio * oy);
    paint(ctx, 1 / s);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  };

  WzMap.prototype._drawOutlines = function (size, ratio) {
    const tiles = !!this.tiles.url;
    if (this.world && !tiles && this.zoom < WORLD_MAX_ZOOM) {
      this._withLayer(this.world, ratio, (ctx, px) => {
        ctx.fillStyle = "#f7f4ec";
        this.world.units.forEach((u) => ctx.fill(u.fill, "evenodd"));
        ctx.strokeStyle = "#9aa5b1";
        ctx.lineWidth = 0.8 * px;
        if (this.world.strokes[1]) ctx.stroke(this.world.strokes[1]);
      });
    }
    if (!this.china) return;
    const counties = this._countyLayers(size);
    const allLoaded = this.china.units.every((u) => counties.has(u.code) || !this._inView(u.bbox, size));
    const useCounties = this.zoom >= COUNTY_ZOOM && allLoaded;
    this._withLayer(this.china, ratio, (ctx, px) => {
      if (!tiles) {
        ctx.fillStyle = "#f7f4ec";
        this.china.units.forEach((u) => { if (!useCounties || !counties.has(u.code)) ctx.fill(u.fill, "evenodd"); });
      }
      if (!useCounties) {
        ctx.strokeStyle = "#9aa5b1";
        ctx.lineWidth = 0.8 * px;
        if (this.china.strokes[1]) ctx.stroke(this.china.strokes[1]);
        ctx.strokeStyle = "#6b7785";
        ctx.lineWidth = 1.3 * px;
        if (this.china.strokes[2]) ctx.stroke(this.china.strokes[2]);
      }
      if (this.china.lines) {
        ctx.setLineDash([6 * px, 4 * px]);
        ctx.strokeStyle = "#6b7785";
        ctx.lineWidth = 1.2 * px;
        ctx.stroke(this.china.lines);
        ctx.setLineDash([]);
      }
    });
    if (useCounties) {
      counties.forEach((layer) => this._withLayer(layer, ratio, (ctx, px) => {
        if (!tiles) {
          ctx.fillStyle = "#f7f4ec";
          layer.units.forEach((u) => ctx.fill(u.fill, "evenodd"));
        }
        [[0, "#cfd5dc", 0.6], [1, "#a3adb8", 1], [2, "#6b7785", 1.4]].forEach(([kind, colour, width]) => {
          if (!layer.strokes[kind]) return;
          ctx.strokeStyle = colour;
          ctx.lineWidth = width * px;
          ctx.stroke(layer.strokes[kind]);
        });
      }));
    }
    this._drawLabels(size, useCounties && this.zoom >= COUNTY_LABEL_ZOOM ? counties : null);
  };

  WzMap.prototype._drawLabels = function (size, counties) {
    const ctx = this.ctx, taken = [];
    const units = [];
    if (counties) counties.forEach((layer) => layer.units.forEach((u) => units.push([u, 12, "#4b5563"])));
    else this.china.units.forEach((u) => units.push([u, this.zoom < 5 ? 11 : 13, "#3e4c59"]));
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    units.forEach(([unit, px, colour]) => {
      const at = this.toScreen(unit.label[0], unit.label[1]);
      if (at[0] < -50 || at[1] < -20 || at[0] > size[0] + 50 || at[1] > size[1] + 20) return;
      ctx.font = px + "px " + FONT;
      const w = ctx.measureText(unit.name).width, box = [at[0] - w / 2 - 3, at[1] - px / 2 - 2, at[0] + w / 2 + 3, at[1] + px / 2 + 2];
      if (taken.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) return;
      taken.push(box);
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255,255,255,0.85)";
      ctx.strokeText(unit.name, at[0], at[1]);
      ctx.fillStyle = colour;
      ctx.fillText(unit.name, at[0], at[1]);
    });
  };

  WzMap.prototype._drawMarkers = function (size) {
    const ctx = this.ctx;
    this.visible = [];
    if (!this.points) return;
    const level = this.level();
    this.clustersAt(level).forEach((c) => {
      const at = this.toScreen(c.x, c.y);
      const r = radius(c.n);
      if (at[0] < -r || at[1] < -r || at[0] > size[0] + r || at[1] > size[1] + r) return;
      this.visible.push({cluster: c, x: at[0], y: at[1], r: r, level: level});
      if (c === this.focused) {  // the marker chosen with the keyboard (N / P)
        ctx.beginPath();
        ctx.arc(at[0], at[1], r + 8, 0, 2 * Math.PI);
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#1d4f91";
        ctx.stroke();
      }
      const colour = COLOURS[Math.min(c.rank, 4)];
      ctx.beginPath();
      ctx.arc(at[0], at[1], r, 0, 2 * Math.PI);
      if (c.n === 1 && !c.exact) {
        ctx.fillStyle = "#fff";
        ctx.fill();
        ctx.lineWidth = 3.5;
        ctx.strokeStyle = colour;
        ctx.stroke();
        return;
      }
      ctx.fillStyle = colour;
      ctx.globalAlpha = c.n === 1 ? 1 : 0.9;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
      if (c.n > 1) {
        // A ring around the cluster: the share of each urgency among its members.
        let start = -Math.PI / 2;
        c.counts.forEach((k, rank) => {
          if (!k) return;
          const end = start + 2 * Math.PI * k / c.n;
          ctx.beginPath();
          ctx.arc(at[0], at[1], r + 2.5, start, end);
          ctx.lineWidth = 4;
          ctx.strokeStyle = COLOURS[rank];
          ctx.stroke();
          start = end;
        });
        ctx.fillStyle = c.rank === 1 ? "#1f2933" : "#fff";
        ctx.font = "bold 12px " + FONT;
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(compact(c.n), at[0], at[1] + 0.5);
      }
    });
  };

  // Keyboard access to the markers: N / P go through the markers in view, most urgent first (then the largest),
  // Enter opens the focused one as a click would; the page announces each in its status line.
  WzMap.prototype.focusNext = function (step) {
    const order = this.visible.slice().sort((a, b) => a.cluster.rank - b.cluster.rank || b.cluster.n - a.cluster.n);
    if (!order.length) return;
    const at = order.findIndex((v) => v.cluster === this.focused);
    const next = order[at < 0 ? (step > 0 ? 0 : order.length - 1) : (at + step + order.length) % order.length];
    this.focused = next.cluster;
    this.redraw();
    if (this.options.onFocus) this.options.onFocus(next.cluster, order.indexOf(next) + 1, order.length);
  };

  WzMap.prototype.hit = function (sx, sy) {
    for (let i = this.visible.length - 1; i >= 0; i--) {
      const v = this.visible[i];
      if ((v.x - sx) ** 2 + (v.y - sy) ** 2 <= (v.r + 3) ** 2) return v;
    }
    return null;
  };

  // A click on a cluster zooms to its members; a single marker, or members that share one spot, opens a list.
  WzMap.prototype.select = function (v) {
    const members = this.members(v.cluster, v.level), p = this.points;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    members.forEach((i) => {
      minX = Math.min(minX, p.xs[i]); maxX = Math.max(maxX, p.xs[i]);
      minY = Math.min(minY, p.ys[i]); maxY = Math.max(maxY, p.ys[i]);
    });
    const spread = Math.max(maxX - minX, maxY - minY) * Math.pow(2, MAX_ZOOM);
    if (members.length > 1 && spread > 2 && this.zoom < MAX_ZOOM) {
      this.closePopup();
      const before = this.zoom;
      this.fitWorld(minX, minY, maxX, maxY, MAX_ZOOM);
      if (this.zoom < before + 1) this.zoom = Math.min(MAX_ZOOM, before + 1);
      return;
    }
    if (this.options.onSelect) this.options.onSelect(members.map((i) => p.ids[i]), [v.cluster.x, v.cluster.y], members);
  };

  WzMap.prototype.openPopup = function (anchor, content) {
    this.closePopup();
    const box = document.createElement("div");
    box.className = "map-popup";
    box.setAttribute("role", "dialog");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link close";
    close.textContent = "×";
    close.setAttribute("aria-label", this.labels.close || "Close");
    close.addEventListener("click", () => this.closePopup());
    box.append(close, content);
    this.frame.appendChild(box);
    this.popup = {box: box, anchor: anchor};
    this._placePopup();
  };

  WzMap.prototype.closePopup = function () {
    if (this.popup) this.popup.box.remove();
    this.popup = null;
  };

  WzMap.prototype._placePopup = function () {
    if (!this.popup) return;
    const at = this.toScreen(this.popup.anchor[0], this.popup.anchor[1]), size = this.size(), box = this.popup.box;
    const left = Math.max(4, Math.min(size[0] - box.offsetWidth - 4, at[0] - box.offsetWidth / 2));
    const above = at[1] - box.offsetHeight - 14;
    box.style.left = left + "px";
    box.style.top = (above >= 4 ? above : Math.min(size[1] - box.offsetHeight - 4, at[1] + 14)) + "px";
  };

  WzMap.prototype._controls = function () {
    const bar = document.createElement("div");
    bar.className = "map-controls";
    [["+", "zoom_in", () => this.zoomAround(this.zoom + 1, this.size()[0] / 2, this.size()[1] / 2)],
      ["−", "zoom_out", () => this.zoomAround(this.zoom - 1, this.size()[0] / 2, this.size()[1] / 2)],
      ["⤢", "fit", () => this.fitPoints()]].forEach(([text, key, action]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text;
      button.title = this.labels[key] || key;
      button.setAttribute("aria-label", this.labels[key] || key);
      button.addEventListener("click", action);
      bar.appendChild(button);
    });
    this.frame.appendChild(bar);
    if (this.tiles.url && this.tiles.attribution) {
      const credit = document.createElement("div");
      credit.className = "map-credit";
      credit.textContent = this.tiles.attribution;
      this.frame.appendChild(credit);
    }
  };

  WzMap.prototype._events = function () {
    const canvas = this.canvas, pointers = new Map();
    let drag = null, pinch = null;
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
      if (pointers.size === 1) drag = {x: e.offsetX, y: e.offsetY, moved: 0};
      if (pointers.size === 2) {
        const [a, b] = Array.from(pointers.values());
        pinch = {d: Math.hypot(a[0] - b[0], a[1] - b[1]), zoom: this.zoom};
        drag = null;
      }
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!pointers.has(e.pointerId)) {
        canvas.style.cursor = this.hit(e.offsetX, e.offsetY) ? "pointer" : "grab";
        return;
      }
      pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
      if (pinch && pointers.size === 2) {
        const [a, b] = Array.from(pointers.values());
        const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
        this.zoomAround(pinch.zoom + Math.log2(d / pinch.d), (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
      } else if (drag) {
        const s = this.scale(), dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
        drag.moved += Math.abs(dx) + Math.abs(dy);
        this.center = [this.center[0] - dx / s, this.center[1] - dy / s];
        drag.x = e.offsetX;
        drag.y = e.offsetY;
        this.redraw();
      }
    });
    const end = (e) => {
      pointers.delete(e.pointerId);
      if (pointers.size < 2) pinch = null;
      if (drag && drag.moved < 5 && e.type === "pointerup") {
        const v = this.hit(e.offsetX, e.offsetY);
        if (v) this.select(v); else this.closePopup();
      }
      if (!pointers.size) drag = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const delta = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY;
      this.zoomAround(this.zoom - delta * 0.0025, e.offsetX, e.offsetY);
    }, {passive: false});
    canvas.addEventListener("dblclick", (e) => this.zoomAround(this.zoom + 1, e.offsetX, e.offsetY));
    canvas.addEventListener("keydown", (e) => {
      const size = this.size(), s = this.scale(), step = 80 / s;
      const moves = {ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step]};
      if (moves[e.key]) {
        this.center = [this.center[0] + moves[e.key][0], this.center[1] + moves[e.key][1]];
        this.redraw();
      } else if (e.key === "+" || e.key === "=") {
        this.zoomAround(this.zoom + 1, size[0] / 2, size[1] / 2);
      } else if (e.key === "-") {
        this.zoomAround(this.zoom - 1, size[0] / 2, size[1] / 2);
      } else if (e.key === "0") {
        this.fitPoints();
      } else if (e.key === "Escape") {
        this.closePopup();
      } else if (e.key === "n" || e.key === "N" || e.key === "]") {
        this.focusNext(1);
      } else if (e.key === "p" || e.key === "P" || e.key === "[") {
        this.focusNext(-1);
      } else if (e.key === "Enter" && this.focused) {
        const v = this.visible.find((item) => item.cluster === this.focused);
        if (v) this.select(v);
      } else {
        return;
      }
      e.preventDefault();
    });
  };

  function parseData(element, name) {
    try { return JSON.parse(element.dataset[name] || "{}"); } catch (error) { return {}; }
  }

  function badge(urgency) {
    const span = document.createElement("span");
    span.className = "urgency " + (urgency || "").toLowerCase();
    span.textContent = urgency || "—";
    return span;
  }

  // The map page: filters, the data, and the list a click opens.
  function mountPage(frame) {
    const labels = parseData(frame, "labels"), status = document.getElementById("map-status");
    const form = document.getElementById("map-filters");
    const map = new WzMap(frame, {labels: labels, tiles: parseData(frame, "tiles"), onSelect: showCases, onFocus: announce});
    window.wzMap = map;
    let first = true;

    function query() {
      const data = new FormData(form), params = new URLSearchParams();
      params.set("hours", data.get("hours"));
      params.set("intent", data.get("intent"));
      params.set("urgency", data.getAll("urgency").join(","));
      return params.toString();
    }

    function load() {
      const q = query();
      status.textContent = labels.loading || "…";
      const started = performance.now();
      return fetch(frame.dataset.cases + "?" + q, {credentials: "same-origin"}).then((r) => {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then((body) => {
        window.wzMapDataMs = performance.now() - started;
        map.setPoints(body.cases);
        if (first) { map.fitPoints(); first = false; }
        let text = body.cases.length + " " + (labels.on_map || "") + " · " + body.without_position + " " + (labels.without_position || "");
        if (body.truncated) text += " · " + (labels.truncated || "");
        status.textContent = text;
        history.replaceState(null, "", location.pathname + "?" + q);
      }).catch(() => { status.textContent = labels.failed || "!"; });
    }

    function announce(cluster, position, total) {
      const level = ["P0", "P1", "P2", "P3"][cluster.rank] || "";
      status.textContent = position + "/" + total + " · " + level + " · " + cluster.n + " " + (labels.cases || "") +
        " · " + (labels.focus_hint || "");
    }

    function showCases(ids, anchor, members) {
      const exact = new Map(members.map((i, k) => [ids[k], map.points.exact[i]]));
      const list = document.createElement("div");
      list.className = "map-cases";
      list.textContent = labels.loading || "…";
      map.openPopup(anchor, list);
      const shown = ids.slice(0, 100);
      fetch(frame.dataset.details + "?ids=" + shown.join(","), {credentials: "same-origin"}).then((r) => r.json()).then((body) => {
        list.textContent = "";
        if (ids.length > 1) {
          const head = document.createElement("p");
          head.className = "muted";
          head.textContent = ids.length + " " + (labels.cases || "");
          list.appendChild(head);
        }
        body.cases.forEach((c) => {
          const item = document.createElement("div");
          item.className = "map-case";
          const link = document.createElement("a");
          link.href = c.url;
          link.textContent = c.ref;
          const title = document.createElement("p");
          title.append(badge(c.urgency), " ", link, " ", Object.assign(document.createElement("span"), {className: "muted", textContent: c.state}));
          const summary = document.createElement("p");
          summary.className = "summary";
          summary.textContent = c.summary;
          const where = document.createElement("p");
          where.className = "muted";
          where.textContent = exact.get(c.id) ? labels.exact : labels.approximate;
          item.append(title, summary, where);
          list.appendChild(item);
        });
        if (ids.length > shown.length) {
          list.appendChild(Object.assign(document.createElement("p"), {className: "muted", textContent: (labels.more || "") + " " + (ids.length - shown.length)}));
        }
        map._placePopup();
      });
    }

    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    form.addEventListener("change", () => load());
    map.loadBase(frame.dataset.base).then(load);
    setInterval(() => { if (!document.hidden && !map.popup) load(); }, 60000);
  }

  // The small map on a case's page: its one position, over the same outlines.
  function mountCase(frame) {
    fetch(frame.dataset.caseMap, {credentials: "same-origin"}).then((r) => r.json()).then((body) => {
      const place = body.place;
      const section = frame.closest("section") || frame;
      if (!place) return;
      section.hidden = false;
      const map = new WzMap(frame, {labels: parseData(frame, "labels"), tiles: body.tiles || {}});
      map.loadBase(frame.dataset.base).then(() => {
        map.setPoints([[place.id, place.lat, place.lon, place.urgency, place.exact]]);
        const at = map.toWorld(place.lon, place.lat);
        map.center = at;
        map.zoom = place.exact ? 10 : 8.5;
        map.redraw();
      });
      const kind = section.querySelector("[data-place-kind]");
      if (kind) kind.textContent = place.exact ? kind.dataset.exact : kind.dataset.approximate;
    });
  }

  window.WzMap = WzMap;
  document.querySelectorAll("[data-map-page]").forEach(mountPage);
  document.querySelectorAll("[data-case-map]").forEach(mountCase);
})();
