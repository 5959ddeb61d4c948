"""Status-bar widgets of the map: cursor position (VN-2000 and WGS 84) and the scale."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from app.map.viewport import format_scale, parse_scale
from app.ui.i18n import format_float, translate
from app.ui.map_canvas import MapCanvas


class MapStatus:
    """Adds its widgets to a status bar and follows ``canvas``."""

    def __init__(self, canvas: MapCanvas, lang: str = "vi") -> None:
        self.canvas = canvas
        self.lang = lang
        self.transformer = None
        self.position = QLabel("")
        self.position.setObjectName("cursorVn2000")
        self.position.setToolTip(translate("MapStatus", "Cursor position, VN-2000 (X, Y)"))
        self.position.setMinimumWidth(230)
        self.lat_lon = QLabel("")
        self.lat_lon.setMinimumWidth(200)
        self.lat_lon.setObjectName("cursorWgs84")
        self.lat_lon.setToolTip(translate("MapStatus", "Cursor position, WGS 84 (lat, lon)"))
        self.scale_edit = QLineEdit()
        self.scale_edit.setObjectName("mapScale")
        self.scale_edit.setFixedWidth(110)
        self.scale_edit.setToolTip(translate("MapStatus", "Map scale: type 1:N and press Enter"))
        self.scale_edit.returnPressed.connect(self._typed_scale)
        canvas.cursorMoved.connect(self.show_position)
        canvas.viewChanged.connect(lambda view: self.show_scale(view.scale))

    def widgets(self) -> list[QWidget]:
        return [self.position, self.lat_lon, self.scale_edit]

    def set_srid(self, srid: int) -> None:
        from pyproj import Transformer

        # always_xy: (easting, northing) in, (lon, lat) out.
        self.transformer = Transformer.from_crs(srid, 4326, always_xy=True)

    def show_position(self, x: float, y: float) -> None:
        # VN-2000 convention: X is the northing, Y the easting.
        self.position.setText(
            f"X: {format_float(y, self.lang, 2)}  Y: {format_float(x, self.lang, 2)}"
        )
        if self.transformer is not None:
            lon, lat = self.transformer.transform(x, y)
            self.lat_lon.setText(
                f"{format_float(lat, self.lang, 6)}°N  {format_float(lon, self.lang, 6)}°E"
            )

    def show_scale(self, denominator: float) -> None:
        if not self.scale_edit.hasFocus():
            self.scale_edit.setText(format_scale(denominator, self.lang))

    def _typed_scale(self) -> None:
        value = parse_scale(self.scale_edit.text())
        if value is None:
            self.scale_edit.setStyleSheet("background: #ffcdd2;")
            return
        self.scale_edit.setStyleSheet("")
        self.canvas.zoom_to_scale(value)
        self.scale_edit.clearFocus()
        if self.canvas.view is not None:
            self.show_scale(self.canvas.view.scale)
