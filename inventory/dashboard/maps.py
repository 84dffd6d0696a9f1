"""The county map's drawing: sites projected into the map's box (north up, true proportions) and
the county's outline when boundary data is loaded.

The dashboard (queries.county_map) and the incident screen (dispatch/views/screen.py, which adds
the transfers on the road as lines) draw the same map; each says what its dots mean. Labels are
placed by queries.place_labels.
"""

import json
import math
import os
from pathlib import Path

from flask import current_app

MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 1000, 640, 40
# Where the county's outline is looked for: the instance folder (a deployment's own data), then
# the static folder. GeoJSON, lon/lat (WGS 84 or GCJ-02, as the sites' coordinates are).
BOUNDARY_FILES = ("county-boundary.geojson", "data/county-boundary.geojson")
# An outline point closer than this (in map units) to the one before adds nothing visible.
OUTLINE_STEP = 1.5

_outline_cache: dict[str, tuple[float, list]] = {}


def _rings(geometry: dict) -> list[list[tuple[float, float]]]:
    """The outer and inner rings of a GeoJSON geometry, as (longitude, latitude) lists."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        polygons = coordinates
    elif kind == "GeometryCollection":
        return [ring for part in geometry.get("geometries") or [] for ring in _rings(part)]
    else:
        return []
    return [[(float(point[0]), float(point[1])) for point in ring if len(point) >= 2]
            for polygon in polygons for ring in polygon if len(ring) >= 3]


def _read_outline(path: Path) -> list[list[tuple[float, float]]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("type") == "FeatureCollection":
        geometries = [feature.get("geometry") or {} for feature in document.get("features") or []]
    elif document.get("type") == "Feature":
        geometries = [document.get("geometry") or {}]
    else:
        geometries = [document]
    return [ring for geometry in geometries for ring in _rings(geometry)]


def boundary() -> list[list[tuple[float, float]]]:
    """The county's outline rings (longitude, latitude) from the first boundary file found, read
    again when it changes; none when there is no file or it does not read as GeoJSON (the map
    then simply has no outline)."""
    folders = (current_app.instance_path, current_app.static_folder or "")
    for folder in folders:
        for name in BOUNDARY_FILES:
            path = Path(folder) / name
            try:
                changed = os.stat(path).st_mtime
            except OSError:
                continue
            cached = _outline_cache.get(str(path))
            if cached is None or cached[0] != changed:
                try:
                    rings = _read_outline(path)
                except (OSError, ValueError, TypeError, AttributeError, IndexError):
                    current_app.logger.warning("county boundary %s does not read as GeoJSON", path)
                    rings = []
                _outline_cache[str(path)] = cached = (changed, rings)
            return cached[1]
    return []


class Projection:
    """Longitude/latitude → map x/y for a set of places, fitted into the box with a margin."""

    def __init__(self, places: list[tuple[float, float]]):
        """``places``: (longitude, latitude) pairs that must all be on the map (at least one)."""
        self.lat_mid = sum(lat for _lon, lat in places) / len(places)
        self.factor = math.cos(math.radians(self.lat_mid))
        xs = [lon * self.factor for lon, _lat in places]
        ys = [lat for _lon, lat in places]
        self.min_x, self.min_y = min(xs), min(ys)
        span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
        self.scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / max(max(xs) - min(xs), span / 4),
                         (MAP_HEIGHT - 2 * MAP_MARGIN) / max(max(ys) - min(ys), span / 4))

    def __call__(self, longitude: float, latitude: float) -> tuple[float, float]:
        return (round(MAP_MARGIN + (longitude * self.factor - self.min_x) * self.scale, 1),
                round(MAP_HEIGHT - MAP_MARGIN - (latitude - self.min_y) * self.scale, 1))


def fit(sites, outline: list[list[tuple[float, float]]]) -> Projection:
    """The projection that puts every site and the whole outline on the map."""
    places = [(site.longitude, site.latitude) for site in sites]
    places += [point for ring in outline for point in ring]
    return Projection(places)


def outline_path(outline: list[list[tuple[float, float]]], project: Projection) -> str:
    """The outline as one SVG path (each ring closed), thinned to what the eye can tell apart."""
    parts = []
    for ring in outline:
        points = []
        for longitude, latitude in ring:
            x, y = project(longitude, latitude)
            if not points or math.hypot(x - points[-1][0], y - points[-1][1]) >= OUTLINE_STEP:
                points.append((x, y))
        if len(points) >= 3:
            parts.append("M" + " L".join(f"{x:g} {y:g}" for x, y in points) + " Z")
    return " ".join(parts)
