"""The rights preview shows its "no area" / "no rights" warnings in the module's refusal
colour (ERROR_STYLE), not the green of a confirmation: the style, the rendered pixels and
the Qt-free rule (forms.preview_warns)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import AdminEnv as Env
from conftest import admin_env
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from app.admin import api, forms
from app.plugin import PluginRegistry
from app.ui.context import UiContext
from app.ui.tasks import TaskRunner
from plugins.admin.views_common import ERROR_STYLE, OK_STYLE
from plugins.admin.views_rights import RightsEditor


@pytest.fixture(scope="module")
def env(demo_db: str) -> Iterator[Env]:
    with admin_env(demo_db, with_parcels=False) as e:
        yield e


def red_share(label) -> float:
    """Share of the label's text pixels that are clearly red (R well above G and B)."""
    image = label.grab().toImage()
    text, red = 0, 0
    bg = QColor(image.pixel(0, 0))
    for y in range(image.height()):
        for x in range(image.width()):
            c = QColor(image.pixel(x, y))
            if (
                abs(c.red() - bg.red()) + abs(c.green() - bg.green()) + abs(c.blue() - bg.blue())
                < 60
            ):
                continue
            text += 1
            red += c.red() > c.green() + 40 and c.red() > c.blue() + 40
    return red / text if text else 0.0


@pytest.mark.store
def test_preview_warnings_use_the_refusal_colour(qtbot, env: Env):
    window = QWidget()
    qtbot.addWidget(window)
    ctx = UiContext(env.session, "vi", PluginRegistry(), window, TaskRunner(window))
    editor = RightsEditor(ctx)
    qtbot.addWidget(editor)
    editor.resize(700, 500)
    editor.show()
    label = editor.preview_label

    editor.boxes[("cadastral", "viewer")].setChecked(True)  # a right, but no area
    editor.ask_preview()
    qtbot.waitUntil(lambda: "Chưa chọn địa bàn" in label.text(), timeout=10_000)
    assert label.styleSheet() == ERROR_STYLE and "#b00020" in ERROR_STYLE
    assert red_share(label) > 0.5

    editor.whole.setChecked(True)  # rights and an area: a confirmation, in green
    editor.ask_preview()
    qtbot.waitUntil(lambda: "toàn tỉnh" in label.text(), timeout=10_000)
    assert label.styleSheet() == OK_STYLE
    assert red_share(label) < 0.1

    editor.boxes[("cadastral", "viewer")].setChecked(False)  # an area, no rights
    editor.ask_preview()
    qtbot.waitUntil(lambda: "Chưa có quyền nào" in label.text(), timeout=10_000)
    assert label.styleSheet() == ERROR_STYLE


def test_preview_warns_values():
    def p(rights, communes=(), whole=False):
        return api.Preview(whole, rights, 0, [dict(c) for c in communes])

    assert forms.preview_warns(p({"cadastral": ["viewer"]}))
    assert forms.preview_warns(p({}, whole=True))
    assert not forms.preview_warns(p({"cadastral": ["viewer"]}, whole=True))
    one = [{"id": 1, "code": "1", "name": "Tân Lập", "kind": "xa", "parcels": 3}]
    assert not forms.preview_warns(p({"planning": ["viewer"]}, one))
