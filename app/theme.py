"""The app's look: one calm light theme and a dark one, chosen by the user or following the system.

Qt's default look differs per platform and desktop (grey Windows 95 widgets under some Linux
desktops); a fixed style (Fusion), a palette of our own and one stylesheet give every machine the
same, quiet look. Widgets name their role with an object name ("muted", "title", "matchRow"...) and
the stylesheet colours them, so no widget hard-codes a colour that is wrong in the other theme.
With "system", the theme follows the desktop's light or dark setting, also when it changes while
the app runs (Qt 6.5+ ``QStyleHints.colorScheme``), and its high contrast (Qt 6.10+ ``contrastPreference``), with a
high-contrast variant of the light or dark theme.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QStyleOptionComplex,
    QWidget,
)

THEME_LABELS = {"system": "Same as the system", "light": "Light", "dark": "Dark"}
GREEN = "#1f7a37"  # a confirmed pin, an "Exact" or "✓ Confirmed" badge: white on it 5.4:1 (#2e9d49 read 3.5:1)
SCREEN_SHARE = 0.92  # of the screen's free area, at most, that a window opens at: frame and title bar fit too
FOCUS_RING = 2.0  # px: the line around the control the keyboard is on
THUMB_INSET = 2.0  # px: a scroll bar's thumb inside Fusion's (``FocusStyle._draw_thumb``)
FLOATING = {"legend": (0.9, 6), "hoverCard": (0.96, 8), "mapCard": (0.96, 8)}  # object name: (opacity, radius)


def draw_focus_ring(painter: QPainter, rect: QRectF, palette: QPalette, radius: float = 0.0) -> None:
    """The keyboard focus: a ``FOCUS_RING`` line in the highlight colour just inside ``rect``, its corners rounded by
    ``radius`` (then smoothed): one ring for the style's boxes, the photo, the map and the matches panel."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, radius > 0)
    painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), FOCUS_RING))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    inset = FOCUS_RING / 2
    painter.drawRoundedRect(rect.adjusted(inset, inset, -inset, -inset), radius, radius)
    painter.restore()


@dataclass(frozen=True)
class Colours:
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    disabled: str  # a control's text that does nothing now: far less contrast than muted, which must be read
    line: str
    edge: str  # the edge of a field to type or choose in (line edit, combo box, spin box): 3:1 on every panel
    accent: str
    accent_text: str
    link: str
    error: str  # a label that says what is wrong (Settings' models note): red, readable on the panels' colours
    warning: str  # a label that says what is missing (Train's "too little to improve"): amber, as readable
    success: str  # green words (Confirm match, Same details): GREEN is too dark on the dark theme's panels
    pressed: str  # a toggle button that is on (Why this match?): an accent tint the text reads on
    hover: str  # a button under the mouse: the keyboard's ring (accent) stands 3:1 on it, as on ``pressed``


LIGHT = Colours(
    window="#f6f7f9",
    base="#ffffff",
    alternate="#eef0f3",
    text="#1f2328",
    muted="#5f6b7a",
    disabled="#a6aeb8",
    line="#dde1e6",
    edge="#808994",  # 3.1:1 to 3.6:1; the line colour read 1.2:1 to 1.3:1, a white field on white gone
    accent="#2f6fde",
    accent_text="#ffffff",
    link="#1d5fd1",
    error="#b3261e",
    warning="#a84b06",
    success=GREEN,
    pressed="#dce8fb",
    hover="#eef0f3",
)
DARK = Colours(
    window="#1d2025",
    base="#262a30",
    alternate="#2e333a",
    text="#e7e9ec",
    muted="#9aa4b0",
    disabled="#5f6772",
    line="#3b4048",
    edge="#7b8490",  # 3.4:1 to 4.3:1; the line colour read 1.4:1 to 1.6:1
    # White on it 4.5:1 (a default button, a selected row), 3:1 or more on every ground the ring is drawn on (the
    # map's #2a2e35 too); #2f6fde read 2.70:1 on a hovered button, 2.57:1 on a pressed one; #4c8dff read 3.2:1 white
    accent="#3372e1",
    accent_text="#ffffff",
    link="#7aaaff",
    error="#ffa198",
    warning="#f0b36b",
    success="#4ac26b",
    pressed="#14203a",  # darker than base, so the ring reads 3.6:1 on it (#243654: 2.57:1)
    hover="#222c3c",  # base's lightness with a blue tint: the ring 3.1:1 (alternate's #2e333a: 2.70:1)
)

# For a desktop set to high contrast (Windows High Contrast, GNOME's or KDE's, macOS's Increase contrast), with
# "system": every word 7:1 or more on every panel (WCAG AAA), the keyboard's ring, a field's edge and a panel's line
# 4.5:1 or more on every ground. The app's own palette replaced the desktop's, so such a user lost theirs.
HIGH_LIGHT = Colours(
    window="#ffffff",
    base="#ffffff",
    alternate="#ebebeb",
    text="#000000",
    muted="#303030",
    disabled="#595959",
    line="#595959",
    edge="#000000",
    accent="#0036a8",
    accent_text="#ffffff",
    link="#0030a0",
    error="#8c0000",
    warning="#6b3500",
    success="#0a5219",
    pressed="#d6e2ff",
    hover="#ebebeb",
)
HIGH_DARK = Colours(
    window="#000000",
    base="#000000",
    alternate="#1f1f1f",
    text="#ffffff",
    muted="#e0e0e0",
    disabled="#a6a6a6",
    line="#a6a6a6",
    edge="#ffffff",
    accent="#ffd60a",
    accent_text="#000000",
    link="#9fd0ff",
    error="#ffb0a8",
    warning="#ffcc80",
    success="#8ee6a0",
    pressed="#002a55",
    hover="#1f1f1f",
)
HIGH = (HIGH_LIGHT, HIGH_DARK)

# The message bar's levels, (background, text), in each theme (app.widgets.message_bar).
MESSAGE_LEVELS = {
    LIGHT: {"error": ("#fde8e8", "#b42318"), "info": ("#e8f1fd", "#1d4f91"), "done": ("#e7f6ec", "#1f6f3a")},
    DARK: {"error": ("#3b2326", "#ffa198"), "info": ("#1e2b40", "#a5c6ff"), "done": ("#1c3326", "#8fd4a4")},
    HIGH_LIGHT: {"error": ("#fde8e8", "#7a0000"), "info": ("#e8f1fd", "#002a6b"), "done": ("#e7f6ec", "#0a4a18")},
    HIGH_DARK: {"error": ("#2b0000", "#ffc2bb"), "info": ("#001833", "#bcdcff"), "done": ("#002211", "#aef0bd")},
}


def is_dark(choice: str) -> bool:
    """Whether ``choice`` ("system", "light" or "dark") means dark now."""
    if choice == "system":
        return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    return choice == "dark"


def wants_high_contrast() -> bool:
    """Whether the desktop asks for high contrast (Qt 6.10+ reads Windows', macOS's and the XDG portal's setting;
    elsewhere, an X server without a portal for one, Qt answers no preference)."""
    hints = QGuiApplication.styleHints()  # kept: PySide deletes the accessibility hints of a dropped wrapper
    return hints.accessibility().contrastPreference() == Qt.ContrastPreference.HighContrast


def chosen(choice: str, dark: bool, high: bool) -> Colours:
    """The colours for ``choice`` on a desktop that is ``dark`` or not and asks for ``high`` contrast or not: the
    desktop's high contrast is followed with "system" only; "light" and "dark" are the user's own choice."""
    if choice == "system" and high:
        return HIGH[dark]
    return DARK if dark else LIGHT


def colours(app: QApplication | None = None) -> Colours:
    """The colours of the theme in use (for widgets that paint themselves)."""
    app = app or QApplication.instance()
    c = app.property("decorlens_colours") if app is not None else None
    return c if isinstance(c, Colours) else LIGHT


def is_dark_now(app: QApplication | None = None) -> bool:
    """Whether the theme in use is a dark one (the dark theme or the dark high contrast)."""
    return colours(app) in (DARK, HIGH_DARK)


def apply(app: QApplication, choice: str = "system") -> None:
    """Style the whole application; with "system", again whenever the desktop switches light/dark or turns high
    contrast on or off."""
    dark = is_dark(choice)
    style(app, chosen(choice, dark, wants_high_contrast()))
    app.setProperty("decorlens_theme", choice)
    if not app.property("decorlens_follows"):
        app.setProperty("decorlens_follows", True)
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(lambda _scheme: apply(app, str(app.property("decorlens_theme"))))
        hints.accessibility().contrastPreferenceChanged.connect(
            lambda _contrast: apply(app, str(app.property("decorlens_theme")))
        )


def style(app: QApplication, c: Colours) -> None:
    """Give the whole application the colours ``c``: its style, palette and stylesheet."""
    app.setProperty("decorlens_colours", c)  # first: widgets redraw icons on the palette change below
    app.setStyle(FocusStyle())
    app.setPalette(palette(c))
    app.setStyleSheet(stylesheet(c))


RINGED = (QStyle.ComplexControl.CC_ComboBox, QStyle.ComplexControl.CC_SpinBox)  # Fusion's boxes, ringed as the rest
CHECK_BOXES = (QStyle.PrimitiveElement.PE_IndicatorCheckBox, QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck)


class FocusStyle(QProxyStyle):
    """Fusion, with the keyboard's ring on a combo box and a spin box drawn over Fusion's own box (without the
    keyboard, their edge in the theme's ``edge`` colour), check boxes outlined and scroll bars' thumbs filled.

    Styled in the stylesheet instead, a combo box loses Fusion's drop-down arrow (the stylesheet wants a picture
    for it); left to Fusion, its focus was a 1 px line, shown only after a Tab, where the stylesheet's buttons,
    radio buttons and tabs have a 2 px ring (``focus``). Drawn inside the box, the ring moves nothing."""

    def __init__(self):
        super().__init__(QStyleFactory.create("Fusion"))

    def drawComplexControl(self, control: QStyle.ComplexControl, option: QStyleOptionComplex, painter: QPainter,
                           widget: QWidget | None = None) -> None:
        super().drawComplexControl(control, option, painter, widget)
        if control == QStyle.ComplexControl.CC_ScrollBar:
            self._draw_thumb(option, painter, widget)
        if control not in RINGED:
            return
        if option.state & QStyle.StateFlag.State_HasFocus:
            draw_focus_ring(painter, QRectF(option.rect), option.palette, 3)
        elif option.frame:
            outline(painter, QRectF(option.rect), 3)

    def _draw_thumb(self, option: QStyleOptionComplex, painter: QPainter, widget: QWidget | None) -> None:
        """A scroll bar's thumb filled in the muted text colour, a little inside Fusion's: Fusion draws it a shade
        of its groove, 1.1:1 in either theme, so a low-vision user could not see where in a list or a dialog they
        were, nor find the thumb to drag."""
        thumb = QRectF(self.subControlRect(QStyle.ComplexControl.CC_ScrollBar, option,
                                           QStyle.SubControl.SC_ScrollBarSlider, widget))
        if thumb.isEmpty() or option.maximum <= option.minimum:
            return
        thumb.adjust(THUMB_INSET, THUMB_INSET, -THUMB_INSET, -THUMB_INSET)
        radius = min(thumb.width(), thumb.height()) / 2
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(option.palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawRoundedRect(thumb, radius, radius)
        painter.restore()

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption, painter: QPainter,
                      widget: QWidget | None = None) -> None:
        """A check box's square outlined in the muted text colour, as a radio button's circle is (stylesheet):
        Fusion outlines it in a shade of the window colour, 1.2:1 on the dark theme's panels, so an unticked
        category in Settings or Train's "Two networks" showed no box at all, only its words."""
        super().drawPrimitive(element, option, painter, widget)
        if element in CHECK_BOXES:
            outline(painter, QRectF(option.rect), 2, option.palette.color(QPalette.ColorRole.PlaceholderText))


def outline(painter: QPainter, rect: QRectF, radius: float, colour: QColor | None = None) -> None:
    """A 1 px line just inside ``rect``, in ``colour`` or the theme's ``edge``: a combo box's and a spin box's edge
    over Fusion's own, a shade of the panel's colour (1.1:1 to 1.3:1 on the dark theme's panels, 2.0:1 on the
    light one's, so a field on a group box showed as its words alone)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(colour or QColor(colours().edge), 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
    painter.restore()


def palette(c: Colours) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window,
        QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.base,
        QPalette.ColorRole.AlternateBase: c.alternate,
        QPalette.ColorRole.ToolTipBase: c.base,
        QPalette.ColorRole.ToolTipText: c.text,
        QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.Text: c.text,
        QPalette.ColorRole.Button: c.base,
        QPalette.ColorRole.ButtonText: c.text,
        QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.accent_text,
        QPalette.ColorRole.Link: c.link,
        QPalette.ColorRole.Mid: c.line,
        QPalette.ColorRole.Midlight: c.alternate,
        QPalette.ColorRole.Light: c.base,
        QPalette.ColorRole.Dark: c.line,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return p


def stylesheet(c: Colours) -> str:
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QToolBar {{ background: {c.window}; border: none; border-bottom: 1px solid {c.line}; padding: 4px 8px;
    spacing: 2px; }}
QToolBar QToolButton {{ padding: 5px 9px; border-radius: 6px; color: {c.text}; }}
QToolBar QToolButton:hover {{ background: {c.alternate}; }}
QToolBar QToolButton:pressed {{ background: {c.line}; }}
QToolBar QToolButton:disabled {{ color: {c.muted}; }}
QStatusBar {{ background: {c.window}; border-top: 1px solid {c.line}; color: {c.muted}; }}
QStatusBar QLabel {{ color: {c.muted}; padding: 0 8px; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ padding: 7px 16px; border: none; border-bottom: 2px solid transparent; color: {c.muted};
    background: transparent; }}
QTabBar::tab:selected {{ color: {c.text}; border-bottom: 2px solid {c.accent}; }}
QTabBar::tab:hover {{ color: {c.text}; }}
QTabBar::tab:selected:focus {{ border: 2px solid {c.accent}; border-radius: 6px; padding: 5px 14px 7px 14px; }}
QPushButton {{ padding: 5px 12px; border: 1px solid {c.line}; border-radius: 6px; background: {c.base}; }}
QPushButton:hover {{ background: {c.hover}; }}
QPushButton:default {{ background: {c.accent}; color: {c.accent_text}; border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.disabled}; background: {c.window}; }}
QPushButton:default:disabled {{ background: {c.alternate}; border-color: {c.line}; }}
QPushButton:flat {{ border: none; background: transparent; }}
QPushButton:checked {{ background: {c.pressed}; border-color: {c.accent}; }}
{focus(c)}
QRadioButton::indicator {{ width: 12px; height: 12px; border-radius: 7px; border: 1px solid {c.muted};
    background: {c.base}; }}
QRadioButton::indicator:checked {{ border-color: {c.accent}; background: qradialgradient(cx: 0.5, cy: 0.5,
    radius: 0.5, fx: 0.5, fy: 0.5, stop: 0 {c.accent}, stop: 0.5 {c.accent}, stop: 0.6 {c.base}, stop: 1 {c.base}); }}
QLineEdit {{ padding: 4px 6px; border: 1px solid {c.edge}; border-radius: 6px; background: {c.base}; }}
QLineEdit:focus {{ border-color: {c.accent}; }}
QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
QListWidget, QListView, QTableWidget, QTableView {{ border: 1px solid {c.line}; border-radius: 6px; padding: 1px;
    background: {c.base}; }}
QListView#productGrid, QListWidget#photoStrip {{ border: 2px solid {c.window}; background: {c.window}; }}
QListView#productGrid:focus, QListWidget#photoStrip:focus {{ border-color: {c.accent}; }}
QListWidget#photoStrip::item:selected {{ background: {c.alternate}; color: {c.text}; }}
QDockWidget::title {{ padding: 6px 10px; background: {c.window}; color: {c.muted}; }}
QGroupBox {{ border: 1px solid {c.line}; border-radius: 8px; margin-top: 16px; padding: 12px 10px 8px 10px;
    background: {c.base}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {c.text};
    font-weight: 600; }}
QProgressBar {{ border: none; border-radius: 3px; background: {c.alternate}; max-height: 6px;
    min-height: 6px; text-align: center; }}
/* the fill in the link blue, 5:1 or more on its track in every theme: the accent read 2.8:1 on the dark one's */
QProgressBar::chunk {{ border-radius: 3px; background: {c.link}; }}
QLabel#muted, QLabel#detail {{ color: {c.muted}; }}
QLabel#title {{ font-weight: 600; }}
QLabel#heading {{ font-size: 17px; }}
QLabel#note {{ color: {c.error}; }}
QLabel#warning {{ color: {c.warning}; }}
{error_box(c)}
QLabel#thumb {{ background: white; border: 1px solid {c.line}; border-radius: 6px; }}
QFrame#matchRow {{ background: {c.base}; border: 1px solid {c.line}; border-radius: 8px; }}
QFrame#matchRow[confirmed="true"] {{ border: 1px solid {c.success}; }}
QFrame#matchRow[explained="true"] {{ border: 2px solid {c.accent}; }}
QPushButton#confirm {{ color: {c.success}; padding: 2px 6px; }}
QPushButton#confirm:focus {{ padding: 1px 5px; }}
QPushButton#confirm:flat:focus {{ padding: 0px 4px; }}
QPushButton#confirm:disabled {{ color: {c.muted}; }}
QPushButton#confirm:checked {{ background: {c.base}; border-color: {c.line}; }}
QScrollArea {{ background: transparent; }}
{floating(c)}
{default_button(c)}
"""


def focus(c: Colours) -> str:
    """Where the keyboard is: a 2 px ring in the accent colour on the control that has it (on the accent itself, a
    default button's, in the text colour). A rule for a widget in this stylesheet switches off Fusion's own focus
    frame, so buttons, boxes, radio buttons and tabs showed none; Fusion's tables showed none either, and a list's
    ring was its 1 px border turned blue. The ring takes the place of padding (or of a 1 px border and padding), so
    a control is the same size with the keyboard on it as without: nothing moves."""
    return f"""
QPushButton:focus {{ border: 2px solid {c.accent}; padding: 4px 11px; }}
QPushButton:flat:focus {{ border: 2px solid {c.accent}; padding: 3px 10px; }}
QPushButton:default:focus {{ border: 2px solid {c.text}; }}
QRadioButton, QCheckBox {{ border: 2px solid transparent; border-radius: 5px; padding: 0px 2px; }}
QRadioButton:focus, QCheckBox:focus {{ border-color: {c.accent}; }}
QDialog QToolButton {{ border: 2px solid transparent; border-radius: 6px; }}
QDialog QToolButton:hover {{ background: {c.hover}; }}
QDialog QToolButton:focus {{ border-color: {c.accent}; }}
QListWidget:focus, QListView:focus, QTableWidget:focus, QTableView:focus {{ border: 2px solid {c.accent};
    padding: 0px; }}"""


def default_button(c: Colours) -> str:
    """In high contrast, a default button (OK, Export, Start) is framed in the text colour, 2 px, instead of filled
    with the accent, and takes the accent's ring like every other control: no colour is 4.5:1 both from the accent
    it would be drawn on and from the panel around it (the text colour's ring on the other themes' default button)."""
    if c not in HIGH:
        return ""
    return f"""
QPushButton:default {{ background: {c.base}; color: {c.text}; border: 2px solid {c.text}; padding: 4px 11px; }}
QPushButton:default:hover {{ background: {c.hover}; }}
QPushButton:default:focus {{ border-color: {c.accent}; }}
QPushButton:default:disabled {{ color: {c.disabled}; border-color: {c.line}; }}"""


def error_box(c: Colours) -> str:
    """A box of what went wrong (the setup page's "What was looked for"): the message bar's error colours of the
    theme. It was a pale pink box with dark red words in both themes, a glaring patch on the dark page."""
    background, text = MESSAGE_LEVELS[c]["error"]
    return f"QLabel#errorBox {{ color: {text}; background: {background}; padding: 8px; border-radius: 4px; }}"


def floating(c: Colours) -> str:
    """The cards floating over the photo and the map (app.widgets.floating): the panel's colour, a little
    see-through, so they are light in the light theme and dark in the dark one (they were always white)."""
    base = QColor(c.base)
    rgb = f"{base.red()}, {base.green()}, {base.blue()}"
    return "\n".join(
        f"QFrame#{name} {{ background: rgba({rgb}, {round(opacity * 255)}); border-radius: {radius}px; }}"
        for name, (opacity, radius) in FLOATING.items()
    )


def resize_to_screen(window: QWidget, width: int, height: int) -> None:
    """Open ``window`` at ``width`` × ``height``, or smaller where the screen is: sized for a desktop screen,
    the main window ran off a laptop's 1366 × 768 (or 1920 × 1080 at 150 %), its status bar and right-hand
    buttons out of reach. Never below the window's minimum size."""
    free = (window.screen() or QGuiApplication.primaryScreen()).availableGeometry().size() * SCREEN_SHARE
    window.resize(min(width, free.width()), min(height, free.height()))


class _GrowsToFit(QObject):
    """``grow_to_fit``'s watcher: on each re-layout of its window, the window grown to the height its layout needs."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and isinstance(watched, QWidget) and watched.isVisible():
            need = watched.heightForWidth(watched.width())
            free = (watched.screen() or QGuiApplication.primaryScreen()).availableGeometry().height()
            if watched.height() < need:
                watched.resize(watched.width(), min(need, int(free * SCREEN_SHARE)))
        return False


def grow_to_fit(window: QWidget) -> None:
    """Let ``window`` grow taller when a word-wrapped label in it takes more lines (a note naming a long folder, a
    batch's summary): a dialog is sized once, on show, and Qt never grows it for a label's height-for-width, so
    the fields above were squeezed instead, their text cut through (Export Shoppable Page, once a folder was
    chosen). Never shrinks it, nor past the screen."""
    window.installEventFilter(_GrowsToFit(window))
