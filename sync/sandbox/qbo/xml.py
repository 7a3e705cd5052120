"""QBO's XML rendering (reference/qbo-api.md §2): without `Accept: application/json` the service
answers in XML, `<IntuitResponse xmlns="http://schema.intuit.com/finance/v3">`. The emulator renders
its JSON bodies the way the XSDs map them: identity attributes (domain, sparse, status), references
as `<VendorRef name="...">56</VendorRef>`, faults as `<Fault type><Error code element>`."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

NS = "http://schema.intuit.com/finance/v3"
# JSON members that are XML attributes, by the element that carries them.
ATTRIBUTES = {
    "*": {"domain", "sparse", "status"},
    "QueryResponse": {"startPosition", "maxResults", "totalCount"},
    "Fault": {"type"},
    "Error": {"code", "element"},
    "BatchItemResponse": {"bId"},
}
REF_KEYS = frozenset({"value", "name", "type"})


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(elem: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        if "value" in value and set(value) <= REF_KEYS:
            elem.text = _text(value["value"])
            for k in ("name", "type"):
                if value.get(k):
                    elem.set(k, _text(value[k]))
            return
        attrs = ATTRIBUTES.get(elem.tag, set()) | ATTRIBUTES["*"]
        for key, sub in value.items():
            if key in attrs and not isinstance(sub, (dict, list)):
                if sub is not None:
                    elem.set(key, _text(sub))
                continue
            _child(elem, key, sub)
        return
    if value is not None:
        elem.text = _text(value)


def _child(parent: ET.Element, key: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(parent, key), item)
    elif value is not None:
        _fill(ET.SubElement(parent, key), value)


def render(body: dict) -> bytes:
    root = ET.Element("IntuitResponse", {"xmlns": NS})
    if "time" in body:
        root.set("time", _text(body["time"]))
    for key, value in body.items():
        if key != "time":
            _child(root, key, value)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                                      xml_declaration=False)


def auth_failure() -> dict:
    """The XML-variant 401 body (§5.2), as a dict for `render`."""
    return {"Fault": {"type": "AuthenticationFault", "Error": [{
        "code": "100", "Message": "General Authentication Error",
        "Detail": "AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401"}]}}
