"""Parsing untrusted BPMN XML without the classic XML attacks.

Refused: documents larger than ``MAX_BYTES``, any DOCTYPE (which rules out
entity expansion such as "billion laughs" and external entities), documents
with more than ``MAX_ELEMENTS`` elements, and anything that is not well-formed.
The parser never touches the network or the file system.
"""

from __future__ import annotations

from lxml import etree

MAX_BYTES = 5 * 1024 * 1024
MAX_ELEMENTS = 50_000

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: dikom's own extension attributes (``dikom:dueIn``, ``dikom:topic``).
DIKOM_NS = "urn:dikom:bpmn:1"

NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "dikom": DIKOM_NS}


class UnsafeXMLError(ValueError):
    """The document was refused before or while parsing.

    ``code`` is one of ``too-large``, ``doctype``, ``too-many-elements``,
    ``not-xml`` and ``not-bpmn``; ``line`` is set when known.
    """

    def __init__(self, code: str, detail: str = "", line: int | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.line = line


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml(data: bytes | str, max_bytes: int = MAX_BYTES, root_tags: frozenset[str] | None = None) -> etree._Element:
    """Parse ``data`` safely and return the root element; raise ``UnsafeXMLError``.

    The root must be BPMN's ``definitions``, or one of ``root_tags`` (Clark notation) when given (DMN files).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise UnsafeXMLError("too-large", f"{len(data)} bytes, at most {max_bytes}")
    # A cheap first look catches DTDs in ASCII-compatible encodings before parsing.
    head = data.upper()
    for marker in ("<!DOCTYPE", "<!ENTITY"):
        for encoding in ("ascii", "utf-16-le", "utf-16-be"):
            if marker.encode(encoding) in head:
                raise UnsafeXMLError("doctype")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXMLError("not-xml", str(exc.msg or exc), exc.lineno) from None
    if root is None:
        raise UnsafeXMLError("not-xml")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXMLError("doctype")
    for count, _element in enumerate(root.iter(), start=1):
        if count > MAX_ELEMENTS:
            raise UnsafeXMLError("too-many-elements", f"more than {MAX_ELEMENTS}")
    if root.tag not in (root_tags or {f"{{{BPMN_NS}}}definitions"}):
        raise UnsafeXMLError("not-bpmn" if root_tags is None else "wrong-root", str(root.tag), root.sourceline)
    return root


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(element_or_name: etree._Element | str) -> str:
    tag = element_or_name if isinstance(element_or_name, str) else element_or_name.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return ""
    return tag[1:].split("}", 1)[0]


def is_bpmn(element: etree._Element, *names: str) -> bool:
    return namespace(element) == BPMN_NS and (not names or local_name(element) in names)
