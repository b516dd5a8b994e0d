"""The run settings: model, prompt, generation parameters, image size cap, video sampling and run policy."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QScrollArea, QSizePolicy, QSlider, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from ..engine import DEFAULT_MODEL, KNOWN_MODELS, CaptionRequest, GenerationParams, LoadOptions
from ..engine.types import VideoOptions
from ..engine.prompts import DEFAULT_PRESET, PRESETS
from ..engine.remote import RemoteOptions, parse_endpoints
from ..library import RunPolicy
from ..library.presets import PresetStore
from . import style
from .language_chooser import LanguageChooser
from .prompt_composer import FIELDS as PROMPT_FIELDS
from .prompt_composer import PromptComposer, upgrade_prompt_fields
from .video_settings import VideoSettings

log = logging.getLogger(__name__)

SETTINGS_KEY = "run/settings"
POLICY_LABELS: dict[str, str] = {
    RunPolicy.SKIP_DONE_AND_EDITED.value: QT_TRANSLATE_NOOP("SettingsPanel", "Skip captioned and edited"),
    RunPolicy.SKIP_EDITED_ONLY.value: QT_TRANSLATE_NOOP("SettingsPanel", "Skip edited only (redo generated)"),
    RunPolicy.OVERWRITE_ALL.value: QT_TRANSLATE_NOOP("SettingsPanel", "Overwrite everything"),
}
#: Longest-side choices of the image resolution cap; 0 means no cap.
RESOLUTION_SIDES: tuple[int, ...] = (256, 384, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048, 0)


@dataclass(frozen=True)
class RunSettings:
    """Everything a run is made from; plain values so they persist as JSON."""

    model: str = DEFAULT_MODEL
    preset: str = DEFAULT_PRESET
    prompt: str = PRESETS[DEFAULT_PRESET]
    system_prompt: str = ""
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    variants: int = 1
    batch_size: int = 0  # 0 = auto
    max_side: int = 1024  # resolution cap: max_pixels = max_side ** 2; 0 = no cap
    policy: str = RunPolicy.SKIP_DONE_AND_EDITED.value
    recursive: bool = False
    sidecar_ext: str = ".txt"
    device: str = "auto"
    dtype: str = "auto"
    quantization: str = "none"
    backend: str = "local"  # "remote": caption on the OpenAI-compatible servers in `endpoints`
    endpoints: str = ""  # comma-separated URLs
    concurrency: int = 8  # requests in flight per endpoint
    remote_model: str = ""  # the served model's name; empty: the first one served
    prompt_type: str = DEFAULT_PRESET  # the composer's choices; `prompt` is the text they make
    prompt_length: str = "any"
    prompt_options: tuple[str, ...] = ()
    caption_language: str = "en"
    user_preset: str = ""
    video_fps: float = 2.0  # video sampling (VideoOptions); a trim of 0 = from the start / to the end
    video_max_frames: int = 64
    video_start: float = 0.0
    video_end: float = 0.0

    @property
    def max_pixels(self) -> int | None:
        """The pixel cap of each image (None: no cap)."""
        return self.max_side * self.max_side if self.max_side else None

    @property
    def run_policy(self) -> RunPolicy:
        """The policy as the library's enum."""
        return RunPolicy(self.policy)

    def params(self) -> GenerationParams:
        """The decoding parameters."""
        return GenerationParams(max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                                top_p=self.top_p, top_k=self.top_k, seed=self.seed,
                                variants=self.variants)

    def video(self) -> VideoOptions:
        """How video files are sampled into frames."""
        return VideoOptions(fps=self.video_fps, max_frames=self.video_max_frames,
                            start=self.video_start or None, end=self.video_end or None)

    def request(self, paths: Sequence[Path]) -> CaptionRequest:
        """A request captioning `paths` with these settings."""
        return CaptionRequest.for_paths(
            paths, prompt=self.prompt.strip() or PRESETS[DEFAULT_PRESET],
            system_prompt=self.system_prompt.strip() or None, params=self.params(),
            max_pixels=self.max_pixels, batch_size=self.batch_size or None, video=self.video())

    def load_options(self) -> LoadOptions:
        """How to load the model."""
        return LoadOptions(device=self.device, dtype=self.dtype, quantization=self.quantization)

    def engine_options(self) -> LoadOptions | RemoteOptions:
        """How to build the engine: a local model's load options, or the remote endpoints."""
        endpoints = parse_endpoints(self.endpoints)
        if self.backend == "remote" and endpoints:
            return RemoteOptions(tuple(endpoints), self.remote_model.strip() or None,
                                 max(1, self.concurrency))
        return self.load_options()

    def to_json(self) -> str:
        """The settings as a JSON object."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> RunSettings:
        """Settings from JSON; unknown keys and values of the wrong type fall back to defaults."""
        try:
            data = json.loads(text) if text else {}
        except (TypeError, ValueError):
            data = {}
        data = upgrade_prompt_fields(data) if isinstance(data, dict) else {}
        base = cls()
        good: dict[str, Any] = {}
        for f in fields(cls):
            value, default = data.get(f.name), getattr(base, f.name)
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if value is not None and type(value) is type(default):
                good[f.name] = value
        if good.get("policy") not in POLICY_LABELS:
            good.pop("policy", None)
        if good.get("backend") not in ("local", "remote"):
            good.pop("backend", None)
        return replace(base, **good)


def token_estimate(max_side: int) -> str:
    """The cap's words: '1024 × 1024 px · ≈ 1,024 visual tokens' (pixels / 1024)."""
    if not max_side:
        return QCoreApplication.translate("SettingsPanel", "No cap · tokens grow with each image's size")
    return QCoreApplication.translate("SettingsPanel", "%1 × %1 px · ≈ %2 visual tokens").replace("%1", str(max_side)).replace(
        "%2", f"{max_side * max_side // 1024:,}")


def _compact(combo: QComboBox) -> QComboBox:
    """A combo whose long entries do not widen the settings column (they elide instead)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return combo


def _title(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("sectionTitle")
    return label


class SettingsPanel(QScrollArea):
    """The settings column: edits a `RunSettings`, persists it, and says when it changes.

    Signals:
        changed(): any setting changed (emitted at once; persistence is debounced).
        manage_models_requested(): the "Models…" button was pressed.
    """

    changed = Signal()
    manage_models_requested = Signal()

    def __init__(self, qsettings: QSettings | None = None, parent: QWidget | None = None, *,
                 data_dir: str | Path | None = None) -> None:
        super().__init__(parent)
        self._qsettings = qsettings
        self._presets = PresetStore.default(data_dir)
        self._loading = False
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(400)
        self._save_timer.timeout.connect(self.save)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("panel")
        self.setWidget(body)
        self._build(body)
        self.set_settings(RunSettings.from_json(self._stored()))

    # -- layout ------------------------------------------------------------------------------
    def _build(self, body: QWidget) -> None:
        layout = QVBoxLayout(body)
        layout.setContentsMargins(14, 4, 14, 14)
        layout.setSpacing(6)
        layout.addWidget(_title(self.tr("Model")))
        layout.addLayout(self._build_model())
        layout.addWidget(_title(self.tr("Prompt")))
        self._build_prompt(layout)
        layout.addWidget(_title(self.tr("Generation")))
        layout.addLayout(self._build_generation())
        layout.addWidget(_title(self.tr("Images")))
        layout.addLayout(self._build_images())
        layout.addWidget(_title(self.tr("Video")))
        self.video_settings = VideoSettings()
        self.video_settings.changed.connect(self._on_any_changed)
        layout.addWidget(self.video_settings)
        layout.addWidget(_title(self.tr("Run")))
        layout.addLayout(self._build_run())
        layout.addWidget(_title(self.tr("Interface")))
        self.language_chooser = LanguageChooser(self._qsettings, self)
        layout.addWidget(self.language_chooser)
        layout.addStretch(1)

    def _build_model(self) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_combo.addItems(list(KNOWN_MODELS))
        self.model_combo.setToolTip(self.tr("A known model, a Hugging Face repo id or a local folder"))
        self.model_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        _compact(self.model_combo)
        self.model_combo.currentTextChanged.connect(self._on_any_changed)
        browse = QToolButton()
        browse.setObjectName("flat")
        browse.setIcon(style.icon("folder", style.MUTED))
        browse.setToolTip(self.tr("Use a local checkpoint folder…"))
        browse.clicked.connect(self._on_browse_clicked)
        row.addWidget(self.model_combo, 1)
        row.addWidget(browse)
        box.addLayout(row)
        form = QFormLayout()
        self.device_combo = self._combo(("auto", "cpu", "cuda", "mps"))
        self.dtype_combo = self._combo(("auto", "bf16", "fp16", "fp32"))
        self.quant_combo = self._combo(("none", "8bit", "4bit"))
        self.quant_combo.setToolTip(self.tr("4/8-bit (bitsandbytes, CUDA) saves memory; it is not faster"))
        form.addRow(self.tr("Device"), self.device_combo)
        form.addRow(self.tr("Precision"), self.dtype_combo)
        form.addRow(self.tr("Quantization"), self.quant_combo)
        self.backend_combo = _compact(QComboBox())
        self.backend_combo.addItem(self.tr("Local"), "local")
        self.backend_combo.addItem(self.tr("Remote (OpenAI-compatible)"), "remote")
        self.backend_combo.currentIndexChanged.connect(self._on_any_changed)
        self.backend_combo.currentIndexChanged.connect(self._on_backend_changed)
        self.endpoints_edit = QLineEdit()
        self.endpoints_edit.setPlaceholderText("http://host:8000/v1, …")
        self.endpoints_edit.setToolTip(self.tr("Comma-separated server URLs (vLLM, SGLang, LM Studio, Ollama, "
                                       "caption-studio serve); the API key comes from "
                                       "CAPTION_STUDIO_API_KEY or the OS keyring"))
        self.endpoints_edit.textChanged.connect(self._on_any_changed)
        self.remote_model_edit = QLineEdit()
        self.remote_model_edit.setPlaceholderText(self.tr("first served"))
        self.remote_model_edit.textChanged.connect(self._on_any_changed)
        self.concurrency_spin = self._spin(1, 256, 8)
        form.addRow(self.tr("Backend"), self.backend_combo)
        form.addRow(self.tr("Endpoints"), self.endpoints_edit)
        form.addRow(self.tr("Served model"), self.remote_model_edit)
        form.addRow(self.tr("Concurrency"), self.concurrency_spin)
        box.addLayout(form)
        manage = QPushButton(style.icon("cube"), self.tr("Manage models…"))
        manage.clicked.connect(self.manage_models_requested)
        box.addWidget(manage)
        return box

    def _build_prompt(self, layout: QVBoxLayout) -> None:
        self.composer = PromptComposer(self._presets)
        self.composer.changed.connect(self._on_any_changed)
        self.preset_combo, self.prompt_edit = self.composer.type_combo, self.composer.prompt_edit
        self.system_edit = self.composer.system_edit
        layout.addWidget(self.composer)

    def _build_generation(self) -> QFormLayout:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.max_tokens_spin = self._spin(1, 16384, 256)
        self.temperature_spin = self._dspin(0.0, 2.0, 0.05, self.tr("Greedy (0)"))
        self.top_p_spin = self._dspin(0.01, 1.0, 0.01)
        self.top_k_spin = self._spin(0, 1000, 0, self.tr("Off"))
        self.seed_spin = self._spin(0, 2**31 - 1, 0)
        self.variants_spin = self._spin(1, 16, 1)
        self.batch_spin = self._spin(0, 512, 0, self.tr("Auto"))
        self.batch_spin.setToolTip(self.tr("Captions generated at once; Auto fits the batch to free memory"))
        form.addRow(self.tr("Max new tokens"), self.max_tokens_spin)
        form.addRow(self.tr("Temperature"), self.temperature_spin)
        form.addRow(self.tr("Top-p"), self.top_p_spin)
        form.addRow(self.tr("Top-k"), self.top_k_spin)
        form.addRow(self.tr("Seed"), self.seed_spin)
        form.addRow(self.tr("Variants"), self.variants_spin)
        form.addRow(self.tr("Batch size"), self.batch_spin)
        return form

    def _build_images(self) -> QVBoxLayout:
        box = QVBoxLayout()
        self.resolution_slider = QSlider(Qt.Orientation.Horizontal)
        self.resolution_slider.setRange(0, len(RESOLUTION_SIDES) - 1)
        self.resolution_slider.setPageStep(1)
        self.resolution_slider.valueChanged.connect(self._on_resolution_changed)
        self.resolution_label = QLabel()
        self.resolution_label.setObjectName("hint")
        self.resolution_label.setWordWrap(True)
        box.addWidget(QLabel(self.tr("Resolution cap")))
        box.addWidget(self.resolution_slider)
        box.addWidget(self.resolution_label)
        return box

    def _build_run(self) -> QFormLayout:
        form = QFormLayout()
        self.policy_combo = _compact(QComboBox())
        for value, label in POLICY_LABELS.items():
            self.policy_combo.addItem(self.tr(label), value)
        self.policy_combo.currentIndexChanged.connect(self._on_any_changed)
        self.recursive_check = QCheckBox(self.tr("Include subfolders"))
        self.recursive_check.toggled.connect(self._on_any_changed)
        self.sidecar_edit = QLineEdit()
        self.sidecar_edit.setMaximumWidth(90)
        self.sidecar_edit.textChanged.connect(self._on_any_changed)
        form.addRow(QLabel(self.tr("When captioning")))  # the policies are long: a row of their own
        form.addRow(self.policy_combo)
        form.addRow(self.tr("Caption files"), self.sidecar_edit)
        form.addRow("", self.recursive_check)
        return form

    def _combo(self, values: Sequence[str]) -> QComboBox:
        combo = _compact(QComboBox())
        combo.addItems(list(values))
        combo.currentIndexChanged.connect(self._on_any_changed)
        return combo

    def _spin(self, low: int, high: int, value: int, special: str = "") -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setSpecialValueText(special)
        spin.setAccelerated(True)
        spin.setMinimumWidth(90)  # a 10-digit range must not widen the column
        spin.valueChanged.connect(self._on_any_changed)
        return spin

    def _dspin(self, low: float, high: float, step: float, special: str = "") -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(2)
        spin.setMinimumWidth(90)
        spin.setSpecialValueText(special)
        spin.valueChanged.connect(self._on_any_changed)
        return spin

    # -- values ------------------------------------------------------------------------------
    def settings(self) -> RunSettings:
        """The settings as shown."""
        return RunSettings(
            model=self.model_combo.currentText().strip() or DEFAULT_MODEL, **self.composer.fields(),
            max_new_tokens=self.max_tokens_spin.value(),
            temperature=round(self.temperature_spin.value(), 4),
            top_p=round(self.top_p_spin.value(), 4), top_k=self.top_k_spin.value(),
            seed=self.seed_spin.value(), variants=self.variants_spin.value(),
            batch_size=self.batch_spin.value(),
            max_side=RESOLUTION_SIDES[self.resolution_slider.value()],
            policy=self.policy_combo.currentData(), recursive=self.recursive_check.isChecked(),
            sidecar_ext=self._sidecar_ext(), device=self.device_combo.currentText(),
            dtype=self.dtype_combo.currentText(), quantization=self.quant_combo.currentText(),
            backend=self.backend_combo.currentData(), endpoints=self.endpoints_edit.text().strip(),
            concurrency=self.concurrency_spin.value(), remote_model=self.remote_model_edit.text().strip(),
            **self.video_settings.values())

    def set_settings(self, s: RunSettings) -> None:
        """Show `s` in every field (emits `changed` once)."""
        self._loading = True
        try:
            self.model_combo.setCurrentText(s.model)
            self.composer.set_fields(**{name: getattr(s, name) for name in PROMPT_FIELDS})
            self.max_tokens_spin.setValue(s.max_new_tokens)
            self.temperature_spin.setValue(s.temperature)
            self.top_p_spin.setValue(s.top_p)
            self.top_k_spin.setValue(s.top_k)
            self.seed_spin.setValue(s.seed)
            self.variants_spin.setValue(s.variants)
            self.batch_spin.setValue(s.batch_size)
            side = s.max_side if s.max_side in RESOLUTION_SIDES else 1024
            self.resolution_slider.setValue(RESOLUTION_SIDES.index(side))
            self._select_data(self.policy_combo, s.policy)
            self.recursive_check.setChecked(s.recursive)
            self.sidecar_edit.setText(s.sidecar_ext)
            self.device_combo.setCurrentText(s.device)
            self.dtype_combo.setCurrentText(s.dtype)
            self.quant_combo.setCurrentText(s.quantization)
            self._select_data(self.backend_combo, s.backend)
            self.endpoints_edit.setText(s.endpoints)
            self.remote_model_edit.setText(s.remote_model)
            self.concurrency_spin.setValue(s.concurrency)
            self.video_settings.set_values(video_fps=s.video_fps, video_max_frames=s.video_max_frames,
                                           video_start=s.video_start, video_end=s.video_end)
        finally:
            self._loading = False
        self._on_resolution_changed(self.resolution_slider.value())
        self._on_backend_changed()
        self._on_any_changed()

    def problem(self) -> str:
        """Why a run cannot start with these settings ('' when it can), in the UI's language."""
        return self.video_settings.problem()

    def set_model(self, model: str) -> None:
        """Choose a model (from the model manager)."""
        self.model_combo.setCurrentText(model)

    def save(self) -> None:
        """Write the settings to QSettings now."""
        self._save_timer.stop()
        if self._qsettings is not None:
            self._qsettings.setValue(SETTINGS_KEY, self.settings().to_json())

    def _stored(self) -> str | None:
        if self._qsettings is None:
            return None
        value = self._qsettings.value(SETTINGS_KEY)
        return value if isinstance(value, str) else None

    def _sidecar_ext(self) -> str:
        text = self.sidecar_edit.text().strip() or ".txt"
        return text if text.startswith(".") else f".{text}"

    @staticmethod
    def _select_data(combo: QComboBox, data: Any) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)

    # -- slots -------------------------------------------------------------------------------
    @Slot()
    def _on_any_changed(self, *_: Any) -> None:
        if self._loading:
            return
        self.changed.emit()
        self._save_timer.start()

    @Slot(int)
    def _on_resolution_changed(self, value: int) -> None:
        self.resolution_label.setText(token_estimate(RESOLUTION_SIDES[value]))
        self.video_settings.set_max_side(RESOLUTION_SIDES[value])
        self._on_any_changed()

    @Slot()
    def _on_backend_changed(self, *_: Any) -> None:
        remote = self.backend_combo.currentData() == "remote"
        for widget in (self.endpoints_edit, self.remote_model_edit, self.concurrency_spin):
            widget.setEnabled(remote)
        for widget in (self.device_combo, self.dtype_combo, self.quant_combo):  # the server decides
            widget.setEnabled(not remote)

    @Slot()
    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a Qwen3-VL checkpoint folder"))
        if folder:
            self.set_model(folder)
