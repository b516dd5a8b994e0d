"""The caption library: folder scan, per-folder caption store, sidecars and exports (no Qt)."""

from desktop_app.library.atomic import (
    AtomicWriteError,
    atomic_write_bytes,
    atomic_write_text,
)
from desktop_app.library.library import Library, SidecarChangedError
from desktop_app.library.models import (
    Conflict,
    GenerationMetadata,
    HistoryEntry,
    ItemRecord,
    Review,
    RunPolicy,
    Source,
    Status,
    SyncReport,
)
from desktop_app.library.scan import (
    IMAGE_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    natural_key,
    scan_folder,
)
from desktop_app.library.sidecars import sidecar_path

__all__ = [
    "AtomicWriteError", "Conflict", "GenerationMetadata", "HistoryEntry", "IMAGE_EXTENSIONS",
    "ItemRecord", "Library", "MEDIA_EXTENSIONS", "Review", "RunPolicy", "SidecarChangedError", "Source",
    "Status", "SyncReport", "VIDEO_EXTENSIONS", "atomic_write_bytes", "atomic_write_text",
    "natural_key", "scan_folder", "sidecar_path",
]
