"""The layer model: the plugins' Layer declarations, with visibility and order the user
may change. Qt-free."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.plugin import Layer

#: Layers the engine knows how to fetch fast (definer functions / reference data).
PARCELS = "cadastral.parcel"
SHEETS = "cadastral.map_sheet"
ADMIN = "cadastral.admin_unit"

#: Short names accepted by ``landrec render --layers``.
ALIASES = {"parcels": PARCELS, "sheets": SHEETS, "admin": ADMIN}

_PLAIN_RELATION = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


#: The inventory layer's theme: share of non-agricultural land (group PNN) per unit in
#: the newest inventory period.
INVENTORY_THEME = "non_agricultural_share"


def kind_of(layer: Layer) -> str | None:
    """'parcels' | 'sheets' | 'admin' | 'relation' (plain table, read through RLS) |
    'inventory' (inventory results drawn on their units' boundaries), or None when the
    engine cannot draw it yet (e.g. a thematic layer joined elsewhere)."""
    if layer.id == PARCELS:
        return "parcels"
    if layer.id == SHEETS:
        return "sheets"
    if layer.id == ADMIN:
        return "admin"
    if _PLAIN_RELATION.match(layer.source) and "geometry_via" not in layer.style:
        return "relation"
    if layer.source == "inv.result" and layer.style.get("thematic") == INVENTORY_THEME:
        return "inventory"
    return None


def hex_or(value: object, default: str | None) -> str | None:
    return value if isinstance(value, str) and _HEX.match(value) else default


@dataclass
class MapLayer:
    decl: Layer
    visible: bool
    kind: str | None

    @property
    def id(self) -> str:
        return self.decl.id

    def shown_at(self, scale: float) -> bool:
        return self.visible and self.kind is not None and self.decl.visible_at(scale)


class LayerModel:
    """Layers in drawing order (first drawn first)."""

    def __init__(self, declared: Iterable[Layer]) -> None:
        self.layers = [MapLayer(d, d.visible, kind_of(d)) for d in sorted(declared, key=_draw_key)]

    def ids(self) -> list[str]:
        return [m.id for m in self.layers]

    def get(self, layer_id: str) -> MapLayer:
        for m in self.layers:
            if m.id == layer_id:
                return m
        raise KeyError(layer_id)

    def set_visible(self, layer_id: str, visible: bool) -> None:
        self.get(layer_id).visible = visible

    def only(self, ids: Iterable[str]) -> None:
        """Show exactly ``ids`` (aliases allowed); unknown ids raise KeyError."""
        wanted = {ALIASES.get(i, i) for i in ids}
        unknown = wanted - set(self.ids())
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        for m in self.layers:
            m.visible = m.id in wanted

    def move(self, layer_id: str, to_index: int) -> None:
        m = self.get(layer_id)
        self.layers.remove(m)
        self.layers.insert(max(0, min(to_index, len(self.layers))), m)

    def drawn_at(self, scale: float) -> list[MapLayer]:
        return [m for m in self.layers if m.shown_at(scale)]


def _draw_key(layer: Layer) -> tuple[int, int]:
    # Parcels (z=10) fill the ground; frames and boundaries go over them whatever their z
    # says, so the declared z only orders the thematic overlays among themselves.
    base = {PARCELS: 0, SHEETS: 3, ADMIN: 4}.get(layer.id)
    return (base, 0) if base is not None else (1 if layer.style.get("fill") else 2, layer.z)


def default_layers() -> list[Layer]:
    from app.plugin import PluginRegistry

    return PluginRegistry().discover(strict=False).layers()
