"""Language of the desktop client: Qt's translation machinery plus locale-aware numbers.

Source strings in app/ui are English and wrapped in ``translate("Context", "text")``
(recognised by ``pyside6-lupdate``); the Vietnamese catalogue is
resources/i18n/landrec_vi.ts, compiled to landrec_vi.qm (committed, so an install needs
no Qt tools); resources/i18n/qtbase_vi.ts/.qm does the same for Qt's own dialogs and
widgets. Plugins carry their own vi/en texts as data (:class:`app.plugin.Text`).

Maintainers::

    python -m app.ui.i18n update    # lupdate: collect new strings into the .ts
    python -m app.ui.i18n release   # lrelease: compile both .ts files to their .qm
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from app.config import REPO_ROOT, RESOURCES_DIR
from app.errors import UserFacingError

LANGUAGES = ("vi", "en")
DEFAULT_LANG = "vi"
I18N_DIR = RESOURCES_DIR / "i18n"
TS_FILE = I18N_DIR / "landrec_vi.ts"
QM_FILE = I18N_DIR / "landrec_vi.qm"
#: Vietnamese for Qt's own dialogs and widgets (file and print dialogs, text-field context
#: menus, standard buttons): Qt 6 ships no qtbase_vi. Hand-kept, see docs/plugins.md.
QT_TS_FILE = I18N_DIR / "qtbase_vi.ts"
QT_QM_FILE = I18N_DIR / "qtbase_vi.qm"

#: ``translate("Context", "text")``: the call lupdate looks for.
translate = QCoreApplication.translate


def resolve_lang(arg: str | None = None) -> str:
    """``--lang`` wins, then $LANDREC_LANG, then Vietnamese."""
    lang = (arg or os.environ.get("LANDREC_LANG") or DEFAULT_LANG).strip().lower()
    lang = lang.split("_")[0].split("-")[0]  # accept vi_VN, en-US
    if lang not in LANGUAGES:
        raise UserFacingError(f"language {lang!r} is not available; use one of: vi, en")
    return lang


def locale_for(lang: str) -> QLocale:
    if lang == "en":
        return QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    return QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)


def install_language(app: QCoreApplication, lang: str) -> bool:
    """Install (or remove) the Vietnamese catalogue and set the default locale.

    Returns True when the requested language is fully available. Safe to call again with
    another language (tests switch languages inside one QApplication).
    """
    for attr in ("_landrec_translator", "_landrec_qt_translator"):
        old = getattr(app, attr, None)
        if old is not None:
            app.removeTranslator(old)
            setattr(app, attr, None)
    QLocale.setDefault(locale_for(lang))
    if lang == "en":
        return True
    complete = True
    for attr, qm in (("_landrec_qt_translator", QT_QM_FILE), ("_landrec_translator", QM_FILE)):
        translator = QTranslator(app)
        if not translator.load(str(qm)):
            print(f"landrec: warning: cannot load {qm}; texts stay in English", file=sys.stderr)
            complete = False
            continue
        # Installed last = asked first: the app's catalogue before Qt's.
        app.installTranslator(translator)
        setattr(app, attr, translator)  # keep a Python reference alive
    return complete


def format_int(n: int, lang: str) -> str:
    """30125 → "30.125" in Vietnamese, "30,125" in English."""
    return locale_for(lang).toString(int(n))


def format_float(x: float, lang: str, decimals: int = 1) -> str:
    """1234.5 → "1.234,5" in Vietnamese, "1,234.5" in English."""
    return locale_for(lang).toString(float(x), "f", decimals)


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        raise UserFacingError(f"{name} not found (it comes with PySide6-Essentials)")
    return found


def update_ts() -> None:
    sources = sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "app" / "ui").glob("*.py"))
    subprocess.run(
        [
            _tool("pyside6-lupdate"),
            "-no-obsolete",
            "-locations",
            "none",
            *sources,
            "-ts",
            str(TS_FILE.relative_to(REPO_ROOT)),
        ],
        cwd=REPO_ROOT,
        check=True,
    )


def release_qm(ts: Path = TS_FILE, qm: Path = QM_FILE) -> None:
    subprocess.run([_tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True)


def release_all() -> None:
    """Compile both catalogues: the application's and the one for Qt's own texts."""
    release_qm(TS_FILE, QM_FILE)
    release_qm(QT_TS_FILE, QT_QM_FILE)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update":
        update_ts()
    elif command == "release":
        release_all()
    else:
        sys.exit("usage: python -m app.ui.i18n update|release")
