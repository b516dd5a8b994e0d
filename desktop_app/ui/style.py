"""The look of the app: a dark palette, one stylesheet and icons drawn from SVG strings."""

from __future__ import annotations

import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QIcon, QLinearGradient, QPainter, QPainterPath,
                           QPalette, QPen, QPixmap)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

# -- colours ---------------------------------------------------------------------------------
BG = "#15171c"  # window background
PANEL = "#1c1f26"  # docks, panels
SURFACE = "#242832"  # inputs, cards
RAISED = "#2c313c"  # hover
BORDER = "#343a46"
TEXT = "#e6e8ee"
MUTED = "#9198a6"
FAINT = "#6b7280"
ACCENT = "#6e8efb"
ACCENT_HOVER = "#8aa3ff"
ACCENT_PRESSED = "#5876e6"
DANGER = "#ef5b5b"
SUCCESS = "#4caf72"
WARNING = "#f0a040"

#: Colour of each tile status (the same hues as the grid's badges, a little brighter on dark).
STATUS_COLORS: dict[str, str] = {
    "pending": "#7d838c", "queued": "#5f7a8f", "generating": "#1e88e5",
    "done": "#2e7d32", "edited": "#7b1fa2", "failed": "#c62828",
}


def palette() -> QPalette:
    """The dark palette every widget starts from (Fusion style)."""
    p = QPalette()
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, BG), (roles.WindowText, TEXT), (roles.Base, SURFACE),
                         (roles.AlternateBase, PANEL), (roles.Text, TEXT), (roles.Button, SURFACE),
                         (roles.ButtonText, TEXT), (roles.ToolTipBase, RAISED),
                         (roles.ToolTipText, TEXT), (roles.Highlight, ACCENT),
                         (roles.HighlightedText, "#ffffff"), (roles.PlaceholderText, FAINT),
                         (roles.Link, ACCENT_HOVER), (roles.BrightText, "#ffffff"),
                         (roles.Mid, BORDER), (roles.Dark, "#101216"), (roles.Light, RAISED)):
        p.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        p.setColor(disabled, role, QColor(FAINT))
    p.setColor(disabled, roles.Base, QColor(PANEL))
    return p


# -- icons -----------------------------------------------------------------------------------
_STROKE = ('fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" '
           'stroke-linejoin="round"')
_ICONS: dict[str, str] = {
    "folder": f'<path {_STROKE} d="M3 7.5A2.5 2.5 0 0 1 5.5 5H9l2 2.2h7.5A2.5 2.5 0 0 1 21 9.7v7.8'
              f'A2.5 2.5 0 0 1 18.5 20h-13A2.5 2.5 0 0 1 3 17.5z"/>',
    "sparkles": f'<path {_STROKE} d="M10 3.5l1.6 4.4 4.4 1.6-4.4 1.6L10 15.5l-1.6-4.4L4 9.5l4.4-1.6z"/>'
                f'<path {_STROKE} d="M17.5 14l.8 2.2 2.2.8-2.2.8-.8 2.2-.8-2.2-2.2-.8 2.2-.8z"/>',
    "selection": f'<rect {_STROKE} x="3.5" y="3.5" width="17" height="17" rx="3"/>'
                 f'<path {_STROKE} d="M8 12.2l2.8 2.8L16.5 9"/>',
    "stop": '<rect fill="currentColor" x="6" y="6" width="12" height="12" rx="2.5"/>',
    "export": f'<path {_STROKE} d="M12 15V3.8M7.5 8.2 12 3.8l4.5 4.4"/>'
              f'<path {_STROKE} d="M5 13v4.5A2.5 2.5 0 0 0 7.5 20h9a2.5 2.5 0 0 0 2.5-2.5V13"/>',
    "cube": f'<path {_STROKE} d="M12 3l8 4.5v9L12 21l-8-4.5v-9z"/>'
            f'<path {_STROKE} d="M4 7.5l8 4.5 8-4.5M12 12v9"/>',
    "undo": f'<path {_STROKE} d="M9 14 4 9l5-5"/><path {_STROKE} d="M4 9h10.5a5.5 5.5 0 0 1 0 11H11"/>',
    "redo": f'<path {_STROKE} d="M15 14l5-5-5-5"/><path {_STROKE} d="M20 9H9.5a5.5 5.5 0 0 0 0 11H13"/>',
    "search": f'<circle {_STROKE} cx="11" cy="11" r="6.5"/><path {_STROKE} d="M20 20l-4.2-4.2"/>',
    "replace": f'<path {_STROKE} d="M4 7h11l-3-3M20 17H9l3 3"/>',
    "text-plus": f'<path {_STROKE} d="M4 6h10M4 11h10M4 16h6M17 13v7M13.5 16.5h7"/>',
    "log": f'<path {_STROKE} d="M6 4h9l4 4v12H6z"/><path {_STROKE} d="M9.5 11h6M9.5 14.5h6M9.5 18h3.5"/>',
    "sliders": f'<path {_STROKE} d="M4 7h9M17 7h3M4 17h3M11 17h9"/>'
               f'<circle {_STROKE} cx="15" cy="7" r="2"/><circle {_STROKE} cx="9" cy="17" r="2"/>',
    "drop": f'<path {_STROKE} d="M3 8.5A2.5 2.5 0 0 1 5.5 6H9l2 2.2h7.5A2.5 2.5 0 0 1 21 10.7v6.8'
            f'A2.5 2.5 0 0 1 18.5 20h-13A2.5 2.5 0 0 1 3 17.5z"/>'
            f'<path {_STROKE} d="M12 10.5v6.5M9.2 14.2 12 17l2.8-2.8"/>',
    "chevron-down": f'<path {_STROKE} d="M7 10l5 5 5-5"/>',
    "chevron-up": f'<path {_STROKE} d="M7 14l5-5 5 5"/>',
    "check": f'<path {_STROKE.replace("1.8", "2.6")} d="M6 12.5l4 4L18 8"/>',
    "close": f'<path {_STROKE} d="M6 6l12 12M18 6 6 18"/>',
}


def svg(name: str, color: str = TEXT) -> str:
    """The SVG text of an icon in one colour (24x24 view box)."""
    body = _ICONS[name].replace("currentColor", color)
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">{body}</svg>'


def render_svg(text: str, size: int, ratio: float = 2.0) -> QPixmap:
    """Rasterise SVG text into a square pixmap (`ratio` sharp pixels per logical pixel)."""
    renderer = QSvgRenderer(QByteArray(text.encode()))
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


@lru_cache(maxsize=None)
def icon(name: str, color: str = TEXT) -> QIcon:
    """A themed icon: `color` normally, faint when disabled (GUI thread only)."""
    result = QIcon()
    for size in (16, 20, 24, 32):
        result.addPixmap(render_svg(svg(name, color), size), QIcon.Mode.Normal)
        result.addPixmap(render_svg(svg(name, FAINT), size), QIcon.Mode.Disabled)
    return result


def app_icon() -> QIcon:
    """The application icon: a gradient tile with a caption bubble, drawn with QPainter."""
    result = QIcon()
    for size in (16, 32, 64, 128, 256):
        result.addPixmap(_draw_app_icon(size))
    return result


def _draw_app_icon(size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    gradient = QLinearGradient(QPointF(0, 0), QPointF(size, size))
    gradient.setColorAt(0.0, QColor("#7f9bff"))
    gradient.setColorAt(1.0, QColor("#8a5cf6"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(gradient))
    p.drawRoundedRect(QRectF(2 * s, 2 * s, 60 * s, 60 * s), 14 * s, 14 * s)
    bubble = QPainterPath()
    bubble.addRoundedRect(QRectF(13 * s, 15 * s, 38 * s, 26 * s), 7 * s, 7 * s)
    tail = QPainterPath()
    tail.moveTo(20 * s, 39 * s)
    tail.lineTo(18 * s, 50 * s)
    tail.lineTo(30 * s, 40 * s)
    tail.closeSubpath()
    p.setBrush(QColor(255, 255, 255, 240))
    p.drawPath(bubble.united(tail))
    p.setPen(QPen(QColor("#6f74f0"), 3.2 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawLine(QPointF(20 * s, 24 * s), QPointF(44 * s, 24 * s))
    p.drawLine(QPointF(20 * s, 32 * s), QPointF(36 * s, 32 * s))
    p.end()
    return pixmap


# -- stylesheet ------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _asset_dir() -> Path:
    """A per-process folder holding the few SVGs the stylesheet refers to by file name."""
    folder = Path(tempfile.mkdtemp(prefix="caption-studio-style-"))
    for name, colour in (("chevron-down", MUTED), ("chevron-up", MUTED), ("check", "#ffffff")):
        (folder / f"{name}.svg").write_text(svg(name, colour), encoding="utf-8")
    return folder


def _asset(name: str) -> str:
    return (_asset_dir() / f"{name}.svg").as_posix()


def stylesheet() -> str:
    """The application stylesheet (colours from this module)."""
    down, up, check = _asset("chevron-down"), _asset("chevron-up"), _asset("check")
    return f"""
QMainWindow, QDialog {{ background: {BG}; }}
QWidget {{ color: {TEXT}; }}
QToolTip {{ background: {RAISED}; color: {TEXT}; border: 1px solid {BORDER}; padding: 5px 7px; }}
QMenuBar {{ background: {BG}; padding: 2px 4px; }}
QMenuBar::item {{ padding: 5px 10px; border-radius: 5px; background: transparent; }}
QMenuBar::item:selected {{ background: {RAISED}; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; padding: 5px; border-radius: 8px; }}
QMenu::item {{ padding: 6px 28px 6px 14px; border-radius: 5px; }}
QMenu::item:selected {{ background: {ACCENT}; color: white; }}
QMenu::item:disabled {{ color: {FAINT}; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 5px 8px; }}
QToolBar {{ background: {BG}; border: none; border-bottom: 1px solid {BORDER}; padding: 6px 8px;
           spacing: 4px; }}
QToolBar::separator {{ width: 1px; background: {BORDER}; margin: 6px 8px; }}
QToolButton {{ background: transparent; border: 1px solid transparent; border-radius: 7px;
              padding: 6px 10px; color: {TEXT}; }}
QToolButton:hover {{ background: {RAISED}; border-color: {BORDER}; }}
QToolButton:pressed, QToolButton:checked {{ background: {SURFACE}; border-color: {ACCENT}; }}
QToolButton:disabled {{ color: {FAINT}; }}
QToolButton#primaryAction {{ background: {ACCENT}; color: white; font-weight: 600; }}
QToolButton#primaryAction:hover {{ background: {ACCENT_HOVER}; }}
QToolButton#primaryAction:pressed {{ background: {ACCENT_PRESSED}; }}
QToolButton#primaryAction:disabled {{ background: {SURFACE}; color: {FAINT}; }}
QToolButton#stopAction:enabled {{ color: {DANGER}; }}
QToolButton#stopAction:enabled:hover {{ border-color: {DANGER}; }}
QToolButton#pill {{ border-radius: 13px; padding: 4px 9px; color: {MUTED}; }}
QToolButton#pill:checked {{ background: {SURFACE}; color: {TEXT}; border-color: {ACCENT}; }}
QToolButton#flat {{ padding: 4px; }}
QPushButton {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 7px;
              padding: 6px 14px; min-height: 18px; }}
QPushButton:hover {{ background: {RAISED}; }}
QPushButton:pressed {{ background: {BORDER}; }}
QPushButton:disabled {{ color: {FAINT}; background: {PANEL}; }}
QPushButton:default {{ background: {ACCENT}; border-color: {ACCENT}; color: white; }}
QPushButton#primary {{ background: {ACCENT}; border-color: {ACCENT}; color: white; font-weight: 600; }}
QPushButton:default:hover, QPushButton#primary:hover {{ background: {ACCENT_HOVER}; }}
QPushButton#link {{ background: transparent; border: none; color: {ACCENT_HOVER}; padding: 2px 4px; }}
QPushButton#link:hover {{ text-decoration: underline; }}
QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 7px; padding: 5px 8px;
    selection-background-color: {ACCENT}; selection-color: white; }}
QPlainTextEdit, QTextEdit {{ padding: 6px; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus,
QComboBox:focus {{ border-color: {ACCENT}; }}
QLineEdit:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled, QComboBox:disabled {{
    color: {FAINT}; background: {PANEL}; }}
QPlainTextEdit[readOnly="true"] {{ color: {MUTED}; }}
QComboBox {{ padding-right: 26px; }}
QComboBox::drop-down {{ border: none; width: 24px; }}
QComboBox::down-arrow {{ image: url({down}); width: 14px; height: 14px; }}
QComboBox QAbstractItemView {{ background: {PANEL}; border: 1px solid {BORDER}; padding: 4px;
                              selection-background-color: {ACCENT}; outline: none; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 22px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::down-button {{
    border: none; width: 20px; background: transparent; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({up}); width: 12px; height: 12px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{ image: url({down}); width: 12px; height: 12px; }}
QCheckBox {{ spacing: 8px; }}
QCheckBox::indicator {{ width: 16px; height: 16px; border-radius: 4px; border: 1px solid {BORDER};
                       background: {SURFACE}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; image: url({check}); }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 14px; height: 14px; margin: -5px 0;
                             border-radius: 7px; }}
QProgressBar {{ background: {SURFACE}; border: none; border-radius: 4px; height: 8px;
               text-align: center; color: transparent; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
QSplitter::handle {{ background: {BG}; }}
QSplitter::handle:horizontal {{ width: 6px; }}
QSplitter::handle:vertical {{ height: 6px; }}
QDockWidget {{ titlebar-close-icon: none; color: {MUTED}; }}
QDockWidget::title {{ background: {PANEL}; padding: 7px 12px; border-bottom: 1px solid {BORDER};
                     text-transform: uppercase; }}
QMainWindow::separator {{ background: {BG}; width: 6px; height: 6px; }}
QMainWindow::separator:hover {{ background: {BORDER}; }}
QScrollArea {{ border: none; background: transparent; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 2px; }}
QScrollBar::handle {{ background: {BORDER}; border-radius: 3px; min-height: 30px; min-width: 30px; }}
QScrollBar::handle:hover {{ background: {FAINT}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
QListView, QTableWidget, QTreeWidget, QTableView {{ background: {PANEL}; border: none;
    alternate-background-color: {SURFACE}; selection-background-color: {ACCENT}; outline: none; }}
QHeaderView::section {{ background: {PANEL}; color: {MUTED}; border: none;
                       border-bottom: 1px solid {BORDER}; padding: 6px 8px; }}
QTabWidget::pane {{ border: none; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 8px; margin-top: 14px; padding: 10px 8px 8px 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {MUTED}; }}
QRadioButton {{ spacing: 8px; }}
QTabBar::tab {{ background: transparent; color: {MUTED}; padding: 7px 14px; border: none;
               border-bottom: 2px solid transparent; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom-color: {ACCENT}; }}
QLabel#sectionTitle {{ color: {MUTED}; font-weight: 600; padding-top: 10px; }}
QLabel#muted, QLabel#hint {{ color: {MUTED}; }}
QLabel#heading {{ font-size: 15pt; font-weight: 600; }}
QLabel#chip {{ border-radius: 9px; padding: 1px 9px; color: white; font-weight: 600; }}
QFrame#panel {{ background: {PANEL}; }}
QFrame#liveCard {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 10px; }}
QFrame#liveCard QLabel {{ background: transparent; border: none; }}
QFrame#runChip {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 8px; }}
QFrame#runChip QLabel {{ background: transparent; border: none; }}
QScrollArea#runsScroll, QWidget#runsBar {{ background: transparent; border: none; }}
QLabel#liveName {{ font-weight: 600; }}
QFrame#card {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 10px; }}
QFrame#banner {{ background: #3a2326; border: 1px solid #6b2f33; border-radius: 8px; }}
QFrame#banner QLabel {{ color: #ffd9d9; }}
QFrame#infoBanner {{ background: #1f2a44; border: 1px solid #334a80; border-radius: 8px; }}
QFrame#filterBar {{ background: {BG}; }}
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style, the dark palette, the stylesheet and a readable default font."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    font = QFont(app.font())
    if font.pointSizeF() > 0 and font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(stylesheet())
    app.setWindowIcon(app_icon())


def chip_style(status: str) -> str:
    """Stylesheet of a status chip label (its background is the status colour)."""
    return f"background: {STATUS_COLORS.get(status, FAINT)};"


def status_color(status: str) -> QColor:
    """The colour of a status as a QColor."""
    return QColor(STATUS_COLORS.get(status, FAINT))


def icon_size() -> QSize:
    """The toolbar icon size."""
    return QSize(18, 18)


def cleanup_assets() -> None:
    """Remove the stylesheet's asset folder (at exit; harmless if it is gone)."""
    if _asset_dir.cache_info().currsize:
        folder = _asset_dir()
        for file in folder.glob("*.svg"):
            try:
                file.unlink()
            except OSError:
                pass
        try:
            os.rmdir(folder)
        except OSError:
            pass
