"""The OME-NGFF specification's own examples and test documents.

Read from the shared conformance corpus when it is present (skipped when
not). Valid 0.4/0.5 image documents are accepted; invalid ones, and valid
ones that break a MUST of the spec text the schemas leave out, are rejected
with a ``MetadataError`` naming the file. Every 0.6rc0 document is refused
as an unsupported version, with a message that says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from napari_progressive.core.errors import MetadataError
from napari_progressive.sources.ngff import parse_ngff

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "ngff"
MANIFEST = CORPUS / "manifest.json"


def _entries() -> list[dict]:
    if not MANIFEST.exists():
        return []
    return json.loads(MANIFEST.read_text())["entries"]


def _ids(entries):
    return [e["file"] for e in entries]


IMAGE = [
    e
    for e in _entries()
    if e["version"] in ("0.4", "0.5") and (e["image_related"] or e["kind"] == "bioformats2raw")
]
# Plates and wells are not opened by this reader; image-related documents only.
NEWER = [e for e in _entries() if e["version"] not in ("0.4", "0.5") and e["image_related"]]

pytestmark = pytest.mark.skipif(not MANIFEST.exists(), reason="conformance corpus not present")


def _should_accept(entry: dict) -> bool:
    return entry["expected"] == "valid" and not entry.get("spec_rule_violations")


@pytest.mark.parametrize("entry", IMAGE, ids=_ids(IMAGE))
def test_image_documents(entry):
    doc = json.loads((CORPUS / entry["file"]).read_text())
    if _should_accept(entry):
        group = parse_ngff(doc, entry["file"])
        assert group.version == entry["version"]
    else:
        with pytest.raises(MetadataError) as err:
            parse_ngff(doc, entry["file"])
        assert entry["file"] in str(err.value)


@pytest.mark.parametrize("entry", NEWER, ids=_ids(NEWER))
def test_newer_versions_are_refused(entry):
    """0.6rc0 documents are refused; those with an ``ome`` version say it is unsupported."""
    doc = json.loads((CORPUS / entry["file"]).read_text())
    with pytest.raises(MetadataError) as err:
        parse_ngff(doc, entry["file"])
    assert entry["file"] in str(err.value)
    ome = doc.get("ome")
    if isinstance(ome, dict) and ome.get("version"):
        assert "is not supported" in str(err.value)


def test_corpus_covers_both_versions():
    if not IMAGE:
        pytest.skip("conformance corpus not present")
    assert {e["version"] for e in IMAGE} == {"0.4", "0.5"}
    assert sum(_should_accept(e) for e in IMAGE) >= 25
