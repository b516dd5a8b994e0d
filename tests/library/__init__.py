"""Tests of the caption library (desktop_app.library)."""
