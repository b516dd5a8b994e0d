"""XMP merge checked with exiftool: it writes the starting sidecar and reads the result back."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from desktop_app.library import Library
from desktop_app.library.export import export_main
from tests.library.conftest import make_files, png_bytes

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool is not installed (apt-get install libimage-exiftool-perl)")


def exiftool(*args: str | Path) -> str:
    assert EXIFTOOL is not None
    return subprocess.run([EXIFTOOL, *map(str, args)], check=True, capture_output=True, text=True).stdout


def test_xmp_export_keeps_what_exiftool_wrote(media: Path, data_dir: Path) -> None:
    make_files(media, ["photo.png"], png_bytes())
    sidecar = media / "photo.png.xmp"
    exiftool("-q", "-o", sidecar, "-XMP-dc:Description=English text", "-XMP-dc:Description-de-DE=Deutscher Text",
             "-XMP-dc:Description-fr-FR=Texte français", "-XMP-dc:Subject=cat", "-XMP-dc:Subject=dog",
             "-XMP-xmp:Rating=4")
    text = sidecar.read_text(encoding="utf-8")
    sidecar.write_text(text.replace("<rdf:RDF", "<!-- a comment by hand -->\n<rdf:RDF", 1), encoding="utf-8")
    with Library.open(media, data_dir=data_dir) as library:
        library.record_result("photo.png", "a red square", ["a red square"], {"model": "tiny"})
    assert export_main([str(media), "--format", "xmp"]) == 0
    [tags] = json.loads(exiftool("-j", "-XMP:all", "-XMP-dc:Description-de-DE", "-XMP-dc:Description-fr-FR",
                                 sidecar))
    assert tags["Description"] == "a red square"
    assert tags["Description-de-DE"] == "Deutscher Text" and tags["Description-fr-FR"] == "Texte français"
    assert tags["Subject"] == ["cat", "dog"] and tags["Rating"] == 4
    assert "<!-- a comment by hand -->" in sidecar.read_text(encoding="utf-8")
