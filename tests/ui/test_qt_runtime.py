"""The installed Qt binding keeps Python's reference counts intact (PySide6 6.12.0 does not)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal, Slot


class _Probe(QObject):
    ping = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    @Slot(int)
    def on_ping(self, value: int) -> None:
        self.received += value


def test_signal_emits_and_void_calls_keep_true_and_none_alive(qapp):
    # On Python < 3.12 True/None are mortal: a binding that drops a reference per emit or per
    # void call aborts the app after a few hundred signals ("bool_dealloc"). pyproject excludes
    # the broken release; this catches any other one before users do.
    probe = _Probe()
    probe.ping.connect(probe.on_ping)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(200):
        probe.ping.emit(1)
        probe.setObjectName("probe")
    assert probe.received == 200
    assert sys.getrefcount(True) >= before_true - 20
    assert sys.getrefcount(None) >= before_none - 20
