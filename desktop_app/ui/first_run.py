"""First-run advice: no GPU, no model in the cache, no network; found off the GUI thread."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartupFacts:
    """What the window tells a user at start: found off the GUI thread by `startup_facts`."""

    has_gpu: bool
    has_model: bool  # a complete Qwen3-VL in the Hugging Face cache, or a local model folder
    online: bool


def startup_facts(model: str, timeout_s: float = 3.0) -> StartupFacts:
    """Check for a GPU, a usable model and the hub (slow: imports torch, may wait `timeout_s`)."""
    import socket
    from urllib.parse import urlsplit

    import torch

    from ..engine import hub

    mps = getattr(torch.backends, "mps", None)
    has_gpu = torch.cuda.is_available() or bool(mps and mps.is_available())
    has_model = Path(model).expanduser().is_dir() or any(c.complete for c in hub.cached_models().values())
    online = os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes", "on")
    if online and not any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")):
        endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
        try:
            socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443),
                                     timeout=timeout_s).close()
        except OSError:
            online = False
    return StartupFacts(has_gpu, has_model, online)


def first_run_advice(facts: StartupFacts) -> tuple[str, bool]:
    """(banner text, '' for none; whether the model manager should open)."""
    from PySide6.QtCore import QCoreApplication

    from ..engine import DEFAULT_MODEL

    parts = []
    if not facts.has_gpu:
        parts.append(QCoreApplication.translate("FirstRun", "No GPU found: captioning runs on the CPU and will be slow. %1 "
                     "(the 2B model) is the one to use on a CPU.").replace("%1", DEFAULT_MODEL))
    if not facts.has_model and facts.online:
        parts.append(QCoreApplication.translate("FirstRun", "No model is downloaded yet: choose one in Models and press Download "
                     "(%1 is the smallest).").replace("%1", DEFAULT_MODEL))
    elif not facts.has_model:
        parts.append(QCoreApplication.translate("FirstRun", "No network, and no Qwen3-VL model is in the Hugging Face cache: connect to "
                     "the internet to download one, or choose a local checkpoint folder in Models."))
    return " ".join(parts), not facts.has_model


def apply_first_run(window, facts: StartupFacts) -> None:  # noqa: ANN001 - MainWindow
    """Show the start-up advice: a non-modal banner, and the model manager when no model is there."""
    from ..engine import DEFAULT_MODEL, KNOWN_MODELS

    text, open_models = first_run_advice(facts)
    if not window.isVisible() or window.running or window.banner_text():
        return  # closed already, busy, or showing something more urgent
    if text:
        window.show_banner(text)
    if open_models:
        dialog = window.show_models(offline=not facts.online)
        if dialog is not None and hasattr(dialog, "select_model"):
            dialog.select_model(KNOWN_MODELS[DEFAULT_MODEL].source)


def start_first_run_checks(window, probe=None) -> threading.Thread:  # noqa: ANN001
    """Find the start-up facts on a daemon thread, then `apply_first_run` in the GUI thread."""
    from PySide6.QtCore import QObject, Signal, Slot

    class _Relay(QObject):
        ready = Signal(object)

        @Slot(object)
        def deliver(self, facts: StartupFacts) -> None:
            apply_first_run(window, facts)

    relay = _Relay(window)  # lives in the GUI thread: the queued signal runs `deliver` there
    relay.ready.connect(relay.deliver)
    model = window.settings_panel.settings().model

    def work() -> None:
        try:
            facts = (probe or startup_facts)(model)
        except Exception:  # noqa: BLE001 - advice must never break the app
            log.exception("start-up checks failed")
            return
        try:
            relay.ready.emit(facts)
        except RuntimeError:  # the window (and the relay) are gone already
            pass

    thread = threading.Thread(target=work, name="first-run-checks", daemon=True)
    thread.start()
    return thread
