"""Start the desktop client: QApplication, fonts, language, sign-in, plugins, main window.

``run_client()`` either shows the window (needs a screen) or, with ``screenshot``,
renders it off-screen at 1280×800 once the store summary has loaded (or failed) and
writes a PNG — the way to see the client on a server or in CI. It takes a signed-in
:class:`~app.session.Session` (or a DSN used as is). ``run_login()`` shows the sign-in
dialog first; ``sign_in_headless()`` signs in without one, for scripts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.errors import UserFacingError

SCREENSHOT_SIZE = (1280, 800)
SCREENSHOT_TIMEOUT_S = 10.0
_HEADLESS_PLATFORMS = {"offscreen", "minimal"}


def has_screen() -> bool:
    """Can Qt show a window here? (Windows and macOS always can.)"""
    if sys.platform in ("win32", "darwin"):
        return True
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in _HEADLESS_PLATFORMS:
        return False
    if platform in ("eglfs", "linuxfb", "vnc"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def no_screen_message(command: str) -> str:
    return (
        "no screen to show the window on (DISPLAY and WAYLAND_DISPLAY are empty, or "
        "QT_QPA_PLATFORM is off-screen).\n"
        f"  To render the window to an image instead:  landrec {command} --screenshot FILE.png\n"
        "  On a desktop session, run the command there (or forward X11: ssh -X)."
    )


def create_application(lang: str):
    """The QApplication (created once), with Vietnamese-capable fonts and the language."""
    from PySide6.QtWidgets import QApplication

    from app.ui.fonts import ensure_fonts
    from app.ui.i18n import install_language

    _quiet_offscreen_warnings()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "landrec"])
    app.setApplicationName("LandRec")
    app.setOrganizationName("LandRec")
    ensure_fonts(app)
    install_language(app, lang)
    return app


def _quiet_offscreen_warnings() -> None:
    """Drop the off-screen platform's harmless "propagateSizeHints" warning (one per menu)."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message):
        if "does not support propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)


def _prepare_platform(screenshot: Path | None, command: str) -> None:
    if screenshot is not None:
        if not has_screen():  # also overrides e.g. QT_QPA_PLATFORM=xcb without a display
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif not has_screen():
        raise UserFacingError(no_screen_message(command))


def run_client(
    source,
    lang: str,
    screenshot: Path | None = None,
    command: str = "run",
    timeout_s: float = SCREENSHOT_TIMEOUT_S,
) -> int:
    """Open the main window for ``source``: a signed-in Session, or a DSN used as is."""
    _prepare_platform(screenshot, command)
    app = create_application(lang)
    from app.plugin import PluginRegistry
    from app.ui.main_window import MainWindow

    registry = PluginRegistry().discover(strict=False)
    window = MainWindow(source, registry, lang=lang)
    if screenshot is None:
        window.show()
        return app.exec()
    try:
        return 0 if save_screenshot(window, screenshot, timeout_s) else 1
    finally:
        window.close()
        window.deleteLater()


def run_login(
    lang: str,
    *,
    profile_name: str | None = None,
    user: str | None = None,
    command: str = "run",
    profiles=None,
) -> int:
    """Show the sign-in dialog; after a sign-in, the main window (needs a screen)."""
    _prepare_platform(None, command)
    app = create_application(lang)
    from PySide6.QtCore import Qt

    from app.plugin import PluginRegistry
    from app.profiles import ProfileStore
    from app.ui.login import SignInFlow
    from app.ui.main_window import MainWindow

    profiles = profiles or ProfileStore().load()
    registry = PluginRegistry().discover(strict=False)
    flow = SignInFlow(profiles, profile_name=profile_name, user=user)
    windows = []

    def open_window(session) -> None:
        window = MainWindow(session, registry, lang=lang)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.show()
        windows.append(window)

    flow.signed_in.connect(open_window)
    flow.cancelled.connect(app.quit)
    app.setQuitOnLastWindowClosed(True)
    flow.start()
    return app.exec()


def sign_in_headless(target, user: str, password: str, lang: str, *, require_account=True):
    """Sign in without a dialog (``--user`` with $LANDREC_PASSWORD; scripts only).

    Raises UserFacingError with the same sentence the dialog would show. An account that
    must change its password is refused: that needs the dialog.
    """
    if not has_screen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    create_application(lang)  # the messages are translated by Qt
    from app.session import SignInError, sign_in
    from app.ui.login import sign_in_message

    address = getattr(target, "address", "") or f"{target.get('host')}:{target.get('port')}"
    try:
        session = sign_in(target, user, password, require_account=require_account)
    except SignInError as exc:
        raise UserFacingError(sign_in_message(exc, address)) from None
    if session.account is not None and session.account.must_change_password:
        session.close()
        raise UserFacingError(
            f"{user} must change the password before using LandRec: sign in once with the "
            "dialog (landrec run, on a screen)"
        )
    return session


def wait_for_summary(window, timeout_s: float) -> bool:
    """Process events until the summary has loaded or failed; False on timeout."""
    from PySide6.QtCore import QDeadlineTimer, QEventLoop
    from PySide6.QtWidgets import QApplication

    deadline = QDeadlineTimer(int(timeout_s * 1000))
    while window.summary is None and window.summary_error is None:
        if deadline.hasExpired():
            return False
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        window.runner.pool.waitForDone(20)
    return True


def wait_for_map(window, timeout_s: float) -> bool:
    """Process events until the map has painted its current view; False on timeout."""
    from PySide6.QtCore import QDeadlineTimer, QEventLoop
    from PySide6.QtWidgets import QApplication

    deadline = QDeadlineTimer(int(timeout_s * 1000))
    ready = getattr(window, "map_ready", lambda: True)
    while not ready():
        if deadline.hasExpired():
            return False
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return True


def save_screenshot(window, path: Path, timeout_s: float = SCREENSHOT_TIMEOUT_S) -> bool:
    from PySide6.QtWidgets import QApplication

    window.resize(*SCREENSHOT_SIZE)
    window.show()
    if not wait_for_summary(window, timeout_s):
        print(
            f"landrec: the store did not answer within {timeout_s:.0f} s; "
            "the screenshot shows the window as it is",
            file=sys.stderr,
        )
    wait_for_map(window, timeout_s)
    for _ in range(5):  # let layouts and style sheets settle
        QApplication.processEvents()
    image = window.grab().toImage()
    if (image.width(), image.height()) != SCREENSHOT_SIZE:
        image = image.scaled(*SCREENSHOT_SIZE)
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), "PNG"):
        raise UserFacingError(f"cannot write the screenshot to {path}")
    print(f"landrec: window rendered off-screen to {path} ({image.width()}×{image.height()})")
    return True
