"""Wire-contract basics every service's marshmallow schemas build on: strict schemas (unknown fields are an
error), the page query of every list, and GeoJSON geometry."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate


class Strict(Schema):
    """Unknown fields are an error (marshmallow's default RAISE), said once here for every contract."""

    class Meta:
        ordered = True


class PageQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    cursor = fields.String(validate=validate.Length(max=500))


def _validate_geometry(value: dict[str, Any]) -> None:
    kind = value.get("type")
    coords = value.get("coordinates")
    if kind == "Point":
        if not (isinstance(coords, list) and len(coords) == 2 and all(isinstance(c, (int, float)) for c in coords)):
            raise ValidationError("a Point has [longitude, latitude]")
        lon, lat = coords
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError("longitude must be within ±180 and latitude within ±90")
    elif kind == "Polygon":
        if not (isinstance(coords, list) and coords and all(isinstance(ring, list) for ring in coords)):
            raise ValidationError("a Polygon has a list of linear rings")
        for ring in coords:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValidationError("each ring has at least 4 positions and is closed")
            for point in ring:
                if not (
                    isinstance(point, list) and len(point) == 2 and all(isinstance(c, (int, float)) for c in point)
                ):
                    raise ValidationError("each position is [longitude, latitude]")
    else:
        raise ValidationError("type must be Point or Polygon")
    if set(value) - {"type", "coordinates"}:
        raise ValidationError("a geometry has only type and coordinates")


class Geometry(fields.Dict):
    """A GeoJSON Point or Polygon (WGS 84 longitude, latitude)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=_validate_geometry, metadata={"description": "GeoJSON Point or Polygon"}, **kwargs)
