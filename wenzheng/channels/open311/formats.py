"""JSON and XML the way GeoReport v2 writes them.

XML is the spec's own: no namespace, the standard element names, a list's items named in the singular
(``<services><service>…``). JSON follows the spec's "Spark convention": the root wrapper disappears, a
list becomes a top-level array, and codes and ids are strings.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from starlette.responses import Response

from wenzheng.channels.open311.errors import Open311Error, not_found

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element name of one item of each list the spec defines.
ITEM_NAMES = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "errors": "error",
}
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Format(StrEnum):
    JSON = "json"
    XML = "xml"

    @classmethod
    def of_suffix(cls, suffix: str) -> Format:
        """The format a URL suffix asks for (``services.xml``); 404 for any other suffix."""
        try:
            return cls(suffix.lower())
        except ValueError:
            raise not_found(f"There is no .{suffix} form of this resource; use .xml or .json.") from None


def render_list(fmt: Format, root: str, items: Sequence[Mapping[str, Any]], *, status: int = 200) -> Response:
    """A list document: ``<root><item/>…</root>`` in XML, a top-level array in JSON."""
    if fmt is Format.JSON:
        return _json(list(items), status)
    return _xml(_element(root, list(items)), status)


def render_object(fmt: Format, root: str, fields: Mapping[str, Any], *, status: int = 200) -> Response:
    """A single document: ``<root>…</root>`` in XML, an object in JSON."""
    if fmt is Format.JSON:
        return _json(dict(fields), status)
    return _xml(_element(root, fields), status)


def render_errors(fmt: Format, errors: Sequence[Open311Error]) -> Response:
    """The spec's error list; the HTTP status is the first error's."""
    items = [{"code": error.code, "description": error.description} for error in errors]
    return render_list(fmt, "errors", items, status=errors[0].status)


def _json(data: Any, status: int) -> Response:
    return Response(json.dumps(data, ensure_ascii=False).encode(), status_code=status, media_type=MEDIA_TYPES["json"])


def _xml(root: ET.Element, status: int) -> Response:
    body = XML_DECLARATION + ET.tostring(root, encoding="unicode")
    return Response(body.encode(), status_code=status, media_type=MEDIA_TYPES["xml"])


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, Mapping):
        element.extend(_element(key, item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        element.extend(_element(ITEM_NAMES.get(name, "item"), item) for item in value)
    else:
        element.text = _xml_text(value)
    return element


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))
