"""XMP packets: valid, parseable, round-trip special characters, merge into existing files."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from desktop_app.library.xmp import (
    NS_DC,
    NS_RDF,
    NS_X,
    XPACKET_ID,
    XmpError,
    build_xmp,
    read_description,
    update_xmp,
    xmp_sidecar_path,
)

TRICKY = 'A <b>bold</b> & "quoted" \'cat\' 😺\nsecond line\ttab ]]> end'

DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    darktable:xmp_version="5">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">old</rdf:li></rdf:Alt></dc:description>
   <darktable:history><rdf:Seq><rdf:li darktable:operation="exposure"/></rdf:Seq></darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_packet_is_valid_xmp() -> None:
    packet = build_xmp("hello")
    assert packet.startswith(f'<?xpacket begin="\ufeff" id="{XPACKET_ID}"?>')
    assert packet.rstrip().endswith('<?xpacket end="w"?>')
    root = ET.fromstring(packet.encode("utf-8"))
    assert root.tag == f"{{{NS_X}}}xmpmeta"
    rdf = root.find(f"{{{NS_RDF}}}RDF")
    assert rdf is not None
    li = rdf.find(f"{{{NS_RDF}}}Description/{{{NS_DC}}}description/{{{NS_RDF}}}Alt/{{{NS_RDF}}}li")
    assert li is not None and li.get("{http://www.w3.org/XML/1998/namespace}lang") == "x-default"
    assert "xmlns:dc=" in packet and "xmlns:rdf=" in packet


def test_special_characters_round_trip() -> None:
    packet = build_xmp(TRICKY)
    assert read_description(packet.encode("utf-8")) == TRICKY


def test_control_characters_and_crlf_are_cleaned() -> None:
    packet = build_xmp("a\r\nb\x00c\x1bd")
    assert read_description(packet.encode("utf-8")) == "a\nbcd"


def test_existing_sidecar_keeps_everything_but_description() -> None:
    updated = update_xmp(DARKTABLE.encode("utf-8"), TRICKY)
    assert read_description(updated.encode("utf-8")) == TRICKY
    assert "darktable.sf.net" in updated and "exposure" in updated and 'xmp_version="5"' in updated
    assert updated.count("description>") == 2  # one open and one close tag: the old one is gone
    assert ">old<" not in updated


def test_rdf_root_without_xmpmeta_is_wrapped() -> None:
    bare = f'<rdf:RDF xmlns:rdf="{NS_RDF}"></rdf:RDF>'
    updated = update_xmp(bare.encode(), "x")
    assert ET.fromstring(updated.encode()).tag == f"{{{NS_X}}}xmpmeta"
    assert read_description(updated.encode()) == "x"


def test_unparseable_sidecar_is_refused() -> None:
    with pytest.raises(XmpError):
        update_xmp(b"<not xml", "x")
    with pytest.raises(XmpError):
        update_xmp(b"<root/>", "x")


def test_sidecar_names() -> None:
    assert xmp_sidecar_path(Path("d/photo.jpg")) == Path("d/photo.jpg.xmp")
    assert xmp_sidecar_path(Path("d/photo.jpg"), lightroom=True) == Path("d/photo.xmp")


# Shaped like what `exiftool -o a.jpg.xmp -XMP-dc:Description-de-DE=...` writes, with comments.
EXIFTOOL_LANGUAGES = """<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>
<!-- written by a person, before the packet -->
<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='Image::ExifTool 12.57'>
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <!-- keep me: inside rdf:RDF -->
 <rdf:Description rdf:about=''
  xmlns:dc='http://purl.org/dc/elements/1.1/'>
  <dc:description>
   <rdf:Alt>
    <rdf:li xml:lang='x-default'>English text</rdf:li>
    <rdf:li xml:lang='de-DE'>Deutscher Text</rdf:li>
    <!-- a translator's note -->
    <rdf:li xml:lang='fr-FR'>Texte français</rdf:li>
   </rdf:Alt>
  </dc:description>
  <dc:subject><rdf:Bag><rdf:li>cat</rdf:li></rdf:Bag></dc:subject>
 </rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<!-- after the packet -->
<?xpacket end='w'?>
"""


def languages(packet: str) -> dict[str, str]:
    root = ET.fromstring(packet.encode("utf-8"))
    items = root.findall(f".//{{{NS_DC}}}description/{{{NS_RDF}}}Alt/{{{NS_RDF}}}li")
    return {str(li.get("{http://www.w3.org/XML/1998/namespace}lang")): li.text or "" for li in items}


def test_merge_keeps_other_languages_and_comments() -> None:
    updated = update_xmp(EXIFTOOL_LANGUAGES.encode("utf-8"), "New caption")
    assert languages(updated) == {"x-default": "New caption", "de-DE": "Deutscher Text",
                                  "fr-FR": "Texte français"}
    for comment in ("<!-- written by a person, before the packet -->", "<!-- keep me: inside rdf:RDF -->",
                    "<!-- a translator's note -->", "<!-- after the packet -->"):
        assert comment in updated
    assert ">cat<" in updated
    assert update_xmp(updated.encode("utf-8"), "New caption") == updated  # stable when run again


def test_merge_adds_a_default_before_other_languages() -> None:
    only_german = EXIFTOOL_LANGUAGES.replace("<rdf:li xml:lang='x-default'>English text</rdf:li>", "")
    updated = update_xmp(only_german.encode("utf-8"), "Neu")
    assert list(languages(updated)) == ["x-default", "de-DE", "fr-FR"]
    assert read_description(updated.encode("utf-8")) == "Neu"
