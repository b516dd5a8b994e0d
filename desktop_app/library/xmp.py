"""XMP sidecars: the caption as `dc:description`, in a new packet or merged into an existing one.

Sidecar name: `photo.jpg.xmp` (digiKam, darktable, exiftool's `%f.%e.xmp`). Lightroom uses
`photo.xmp` instead; `xmp_sidecar_path(..., lightroom=True)` gives that name.
An existing sidecar (darktable keeps its edit history there) is never replaced wholesale:
only the default-language (`x-default`) entry of its `dc:description` changes; the other
languages, every other property and the comments are kept.
"""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XML = "http://www.w3.org/XML/1998/namespace"
XPACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"

_PREFIXES = {
    "x": NS_X, "rdf": NS_RDF, "dc": NS_DC, "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/", "exif": "http://ns.adobe.com/exif/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/", "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "darktable": "http://darktable.sf.net/", "digiKam": "http://www.digikam.org/ns/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/", "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
}
for _prefix, _uri in _PREFIXES.items():
    ET.register_namespace(_prefix, _uri)

# Characters XML 1.0 cannot carry at all (a caption should never hold them anyway).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class XmpError(ValueError):
    """An existing XMP file could not be understood, so it was left alone."""


def xmp_sidecar_path(media_path: Path, lightroom: bool = False) -> Path:
    """The XMP sidecar of a media file.

    Args:
        media_path: The image or video.
        lightroom: Use Lightroom's `photo.xmp` instead of `photo.jpg.xmp`.

    Returns:
        The sidecar path.
    """
    if lightroom:
        return media_path.with_suffix(".xmp")
    return media_path.with_name(media_path.name + ".xmp")


def _clean(text: str) -> str:
    """Caption text XML can hold: one newline convention, no forbidden control characters."""
    return _INVALID_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _tag(ns: str, name: str) -> str:
    """An ElementTree qualified name."""
    return f"{{{ns}}}{name}"


def _description_element(caption: str) -> ET.Element:
    """`<dc:description><rdf:Alt><rdf:li xml:lang="x-default">caption</rdf:li></rdf:Alt>`."""
    description = ET.Element(_tag(NS_DC, "description"))
    alt = ET.SubElement(description, _tag(NS_RDF, "Alt"))
    item = ET.SubElement(alt, _tag(NS_RDF, "li"), {_tag(NS_XML, "lang"): "x-default"})
    item.text = _clean(caption)
    return description


def _packet(root: ET.Element, before: Sequence[ET.Element] = (), after: Sequence[ET.Element] = ()) -> str:
    """Serialize `x:xmpmeta` inside an xpacket wrapper, with the comments kept around it."""
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    head = "".join(ET.tostring(node, encoding="unicode") + "\n" for node in before)
    tail = "".join("\n" + ET.tostring(node, encoding="unicode") for node in after)
    return f'<?xpacket begin="\ufeff" id="{XPACKET_ID}"?>\n{head}{body}{tail}\n<?xpacket end="w"?>\n'


def build_xmp(caption: str) -> str:
    """A complete XMP packet holding `caption` as the default-language dc:description.

    Args:
        caption: The caption (any text; XML-escaped by ElementTree).

    Returns:
        The packet, to be written as UTF-8.
    """
    root = ET.Element(_tag(NS_X, "xmpmeta"))
    rdf = ET.SubElement(root, _tag(NS_RDF, "RDF"))
    desc = ET.SubElement(rdf, _tag(NS_RDF, "Description"), {_tag(NS_RDF, "about"): ""})
    desc.append(_description_element(caption))
    return _packet(root)


def _keep_prefixes(data: bytes) -> None:
    """Register the file's own namespace prefixes, so rewriting it does not rename them ns0.

    ElementTree's prefix table is global; a prefix already bound to another URI is left as it is.
    """
    known = {prefix: uri for uri, prefix in ET._namespace_map.items()}  # type: ignore[attr-defined]
    for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
        if prefix and prefix not in known and not re.fullmatch(r"ns\d+", prefix):
            ET.register_namespace(prefix, uri)
            known[prefix] = uri


def _parse_keeping_comments(data: bytes) -> tuple[ET.Element, list[ET.Element], list[ET.Element]]:
    """Parse a packet keeping its comments and processing instructions.

    Returns:
        The root, and the comments (and PIs other than the xpacket ones) before and after it.
    """
    builder = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    builder.feed(data)
    root: ET.Element = builder.close()
    # The tree keeps what lies inside the root; a second pass finds what lies around it.
    events = ET.XMLPullParser(events=("start", "end", "comment", "pi"))
    events.feed(data)
    events.close()
    depth, seen_root = 0, False
    before: list[ET.Element] = []
    after: list[ET.Element] = []
    for event, node in events.read_events():
        if event == "start":
            depth, seen_root = depth + 1, True
        elif event == "end":
            depth -= 1
        elif depth == 0 and not (event == "pi" and (node.text or "").startswith("xpacket")):
            (after if seen_root else before).append(node)
    return root, before, after


def _set_default_language(description: ET.Element, caption: str) -> None:
    """Make `caption` the x-default entry of a dc:description, keeping its other languages."""
    alt = description.find(_tag(NS_RDF, "Alt"))
    if alt is None:  # not a language alternative (invalid XMP): ours to replace
        description.clear()
        description.append(_description_element(caption)[0])
        return
    items = alt.findall(_tag(NS_RDF, "li"))
    default = next((li for li in items if li.get(_tag(NS_XML, "lang")) == "x-default"), None)
    if default is None:
        default = ET.Element(_tag(NS_RDF, "li"), {_tag(NS_XML, "lang"): "x-default"})
        alt.insert(0, default)  # XMP: the default comes first
    for child in list(default):  # the default entry is ours: its text only
        default.remove(child)
    default.text = _clean(caption)


def update_xmp(existing: bytes, caption: str) -> str:
    """Set the default-language dc:description of an existing XMP packet, keeping everything else.

    Kept: every other property, the description's other languages (`de-DE`, `fr-FR`, ...),
    comments and processing instructions inside and around the packet. Only the
    `x-default` entry of dc:description is the export's own.

    Args:
        existing: The current file content.
        caption: The new description.

    Returns:
        The new packet.

    Raises:
        XmpError: If the file is not XML or has no rdf:RDF.
    """
    try:
        root, before, after = _parse_keeping_comments(existing)
        _keep_prefixes(existing)
    except ET.ParseError as exc:
        raise XmpError(f"not valid XML ({exc})") from exc
    rdf = root if root.tag == _tag(NS_RDF, "RDF") else root.find(f".//{_tag(NS_RDF, 'RDF')}")
    if rdf is None:
        raise XmpError("no rdf:RDF element")
    descriptions = rdf.findall(_tag(NS_RDF, "Description"))
    found = False
    for desc in descriptions:
        for element in desc.findall(_tag(NS_DC, "description")):
            _set_default_language(element, caption)
            found = True
    for desc in descriptions:  # the attribute shorthand cannot hold languages: make it an element
        if desc.attrib.pop(_tag(NS_DC, "description"), None) is not None and not found:
            desc.append(_description_element(caption))
            found = True
    if not descriptions:
        descriptions = [ET.SubElement(rdf, _tag(NS_RDF, "Description"), {_tag(NS_RDF, "about"): ""})]
    if not found:
        descriptions[0].append(_description_element(caption))
    if root.tag != _tag(NS_X, "xmpmeta"):
        wrapper = ET.Element(_tag(NS_X, "xmpmeta"))
        wrapper.append(root)
        root = wrapper
    return _packet(root, before, after)


def read_description(data: bytes) -> str | None:
    """The default-language dc:description of an XMP packet (for tests and import).

    Args:
        data: The file content.

    Returns:
        The description, or None if there is none.

    Raises:
        XmpError: If the data is not XML.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise XmpError(f"not valid XML ({exc})") from exc
    items = root.findall(f".//{_tag(NS_DC, 'description')}/{_tag(NS_RDF, 'Alt')}/{_tag(NS_RDF, 'li')}")
    for item in items:
        if item.get(_tag(NS_XML, "lang")) == "x-default":
            return item.text or ""
    return items[0].text or "" if items else None
