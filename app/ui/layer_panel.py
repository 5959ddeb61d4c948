"""The layer panel: visibility and order of the map layers, and the land-use legend."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.map.layers import LayerModel
from app.map.style import LandUseStyle
from app.ui.i18n import translate

_ID_ROLE = Qt.ItemDataRole.UserRole


def _swatch(colour: str) -> QIcon:
    pix = QPixmap(14, 14)
    pix.fill(QColor(colour))
    return QIcon(pix)


class LayerPanel(QWidget):
    # A layer was shown or hidden, or the order changed: the canvas should redraw.
    layersChanged = Signal()
    # A layer was double-clicked: zoom the map to it.
    zoomToLayer = Signal(str)

    def __init__(self, model: LayerModel, lang: str = "vi", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("layerPanel")
        self.model = model
        self.lang = lang
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setObjectName("layerList")
        box.addWidget(self.list)
        row = QHBoxLayout()
        self.up = QPushButton(translate("LayerPanel", "Up"))
        self.down = QPushButton(translate("LayerPanel", "Down"))
        self.up.setToolTip(translate("LayerPanel", "Draw later (on top)"))
        self.down.setToolTip(translate("LayerPanel", "Draw earlier (below)"))
        self.up.clicked.connect(lambda: self._move(+1))
        self.down.clicked.connect(lambda: self._move(-1))
        row.addWidget(self.up)
        row.addWidget(self.down)
        box.addLayout(row)
        box.addWidget(QLabel(translate("LayerPanel", "Land use")))
        self.legend = QListWidget()
        self.legend.setObjectName("legend")
        box.addWidget(self.legend, 1)
        self._fill()
        self.list.itemChanged.connect(self._toggled)
        self.list.itemDoubleClicked.connect(lambda item: self.zoomToLayer.emit(item.data(_ID_ROLE)))
        self.list.setToolTip(translate("LayerPanel", "Double-click a layer to zoom to it"))

    def _fill(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        # Top of the list = drawn last (on top), as in every GIS.
        for m in reversed(self.model.layers):
            item = QListWidgetItem(m.decl.title.get(self.lang))
            item.setData(_ID_ROLE, m.id)
            flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
            if m.kind is None:  # declared, but the engine cannot draw it yet
                flags &= ~Qt.ItemFlag.ItemIsEnabled
            item.setFlags(flags)
            item.setCheckState(Qt.CheckState.Checked if m.visible else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def set_style(self, style: LandUseStyle) -> None:
        self.legend.clear()
        for e in style.legend():
            item = QListWidgetItem(_swatch(e.colour), f"{e.code} — {e.name}")
            item.setData(_ID_ROLE, e.code)
            self.legend.addItem(item)

    def _toggled(self, item: QListWidgetItem) -> None:
        self.model.set_visible(item.data(_ID_ROLE), item.checkState() == Qt.CheckState.Checked)
        self.layersChanged.emit()

    def _move(self, step: int) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        layer_id = item.data(_ID_ROLE)
        index = self.model.ids().index(layer_id)
        self.model.move(layer_id, index + step)
        self._fill()
        for row in range(self.list.count()):
            if self.list.item(row).data(_ID_ROLE) == layer_id:
                self.list.setCurrentRow(row)
        self.layersChanged.emit()
