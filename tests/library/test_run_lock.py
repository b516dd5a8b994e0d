"""The run lock of a library: one holder at a time, who holds it, never stale after a death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from desktop_app.library.run_lock import RunLock, lock_path

ROOT = Path(__file__).resolve().parents[2]


def test_one_holder_at_a_time_and_who_it_is(media: Path, data_dir: Path) -> None:
    path = lock_path(media, data_dir)
    assert path.parent == data_dir / "libraries" and path.suffix == ".lock"
    first, second = RunLock.for_folder(media, data_dir), RunLock.for_folder(media, data_dir)
    assert first.try_acquire() and first.held
    assert not second.try_acquire() and not second.held
    assert f"process {os.getpid()}" in second.holder()
    first.release()
    assert second.try_acquire()
    second.release()


def test_waiting_ends_when_the_holder_lets_go(media: Path, data_dir: Path) -> None:
    holder, waiter = RunLock.for_folder(media, data_dir), RunLock.for_folder(media, data_dir)
    assert holder.try_acquire()
    told: list[str] = []
    threading.Timer(0.5, holder.release).start()
    started = time.monotonic()
    assert waiter.acquire(wait=True, on_wait=told.append, poll_seconds=0.05, timeout=30)
    assert 0.3 < time.monotonic() - started < 20 and len(told) == 1 and "process" in told[0]
    waiter.release()
    assert holder.try_acquire()
    assert not waiter.acquire(wait=False)  # skip: says no at once
    assert not waiter.acquire(wait=True, poll_seconds=0.05, timeout=0.2)
    holder.release()


def test_a_dead_holder_never_blocks(media: Path, data_dir: Path) -> None:
    code = ("import sys, time; from desktop_app.library.run_lock import RunLock; "
            "lock = RunLock.for_folder(sys.argv[1], sys.argv[2]); assert lock.try_acquire(); "
            "print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, str(media), str(data_dir)], stdout=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        lock = RunLock.for_folder(media, data_dir)
        assert not lock.try_acquire()
        assert f"process {child.pid}" in lock.holder()
        child.send_signal(signal.SIGKILL)  # no cleanup at all: the lock file stays behind
        child.wait()
        assert lock_path(media, data_dir).exists()
        assert lock.acquire(wait=True, timeout=10)
        lock.release()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
