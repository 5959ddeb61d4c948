"""The editing session (Qt-free): the change set being drafted, the full-precision
geometry of the parcels around the edit, the working copies with their undo stack.

The canvas tools (app/ui/edit_tools.py) and the dock (app/ui/edit_panel.py) are views of
this model. Methods taking ``conn`` talk to the store — one round trip each — and are
run off the UI thread; the others are pure and fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import shapely
from shapely.geometry import MultiPolygon, Polygon

from app.edit import geometry as g

BBox = tuple[float, float, float, float]

#: Kinds of change set (biến động) with their Vietnamese and English names, in the
#: database's codes (api.create_mutation / app.edit.changeset.open_change_set).
KINDS: dict[str, tuple[str, str]] = {
    "tach_thua": ("Tách thửa", "Split"),
    "hop_thua": ("Hợp thửa", "Merge"),
    "dinh_chinh_ranh_gioi": ("Đính chính ranh giới", "Boundary correction"),
    "thua_moi": ("Thửa mới", "New parcel"),
    "thay_doi_thuoc_tinh": ("Thay đổi thuộc tính", "Attribute change"),
    "chuyen_muc_dich": ("Chuyển mục đích sử dụng", "Land-use change"),
    "chuyen_quyen": ("Chuyển quyền", "Transfer of rights"),
    "the_chap": ("Thế chấp", "Mortgage"),
    "xoa_the_chap": ("Xóa thế chấp", "Mortgage release"),
}
#: Margin (m) around the edited parcels whose neighbours are fetched for snapping and
#: shared-vertex moves.
NEIGHBOUR_MARGIN = 30.0


@dataclass(frozen=True)
class ParcelGeom:
    id: int
    version: int
    geom: Polygon | MultiPolygon
    parcel_number: int | None = None
    sheet_number: int | None = None


# The sheet's number, for labels the clerk knows ("thửa 45, tờ 1"), not internal ids.
_SHEET = "(SELECT s.sheet_number FROM cad.map_sheet s WHERE s.id = p.sheet_id)"


def _parcels(rows: Sequence[Sequence[Any]]) -> dict[int, ParcelGeom]:
    return {
        int(r[0]): ParcelGeom(int(r[0]), int(r[1]), shapely.from_wkb(bytes(r[2])), r[3], r[4])
        for r in rows
    }


def parcel_label(parcel: ParcelGeom | None, pid: int, lang: str = "vi") -> str:
    """The parcel as registers name it, to follow "thửa" / "parcel" in a sentence:
    "45 tờ 1" (vi) / "45 (sheet 1)" (en); "#id" when the number is not known."""
    if parcel is None or parcel.parcel_number is None:
        return f"#{pid}"
    if parcel.sheet_number is None:
        return str(parcel.parcel_number)
    if lang == "en":
        return f"{parcel.parcel_number} (sheet {parcel.sheet_number})"
    return f"{parcel.parcel_number} tờ {parcel.sheet_number}"


def fetch_parcels(
    conn: psycopg.Connection, *, bbox: BBox | None = None, ids: Sequence[int] = ()
) -> dict[int, ParcelGeom]:
    """Current parcels meeting ``bbox`` or listed in ``ids``, at full precision (WKB, not
    the map's centimetre TWKB), with their versions — one round trip, the person's own
    rights and area applying (row-level security)."""
    if bbox is None and not ids:
        return {}
    box = bbox or (0.0, 0.0, 0.0, 0.0)
    rows = conn.execute(
        f"SELECT p.id, p.version, ST_AsBinary(p.geom), p.parcel_number, {_SHEET} "
        "FROM cad.parcel p "
        "WHERE p.retired_at IS NULL AND (p.id = ANY(%s) OR (%s AND p.geom && "
        "ST_MakeEnvelope(%s, %s, %s, %s, ST_SRID(p.geom))))",
        (list(ids), bbox is not None, *box),
    ).fetchall()
    return _parcels(rows)


def grow(bbox: BBox, by: float) -> BBox:
    return (bbox[0] - by, bbox[1] - by, bbox[2] + by, bbox[3] + by)


def neighbourhood(conn: psycopg.Connection, ids: Sequence[int]) -> dict[int, ParcelGeom]:
    """``ids`` and every parcel within :data:`NEIGHBOUR_MARGIN` of them, in one round
    trip (the box is computed by the server from the parcels themselves)."""
    rows = conn.execute(
        "WITH b AS (SELECT ST_Expand(ST_Extent(geom)::geometry, %s) AS box, "
        "min(ST_SRID(geom)) AS srid FROM cad.parcel WHERE id = ANY(%s)) "
        f"SELECT p.id, p.version, ST_AsBinary(p.geom), p.parcel_number, {_SHEET} "
        "FROM cad.parcel p, b WHERE p.retired_at IS NULL "
        "AND (p.id = ANY(%s) OR p.geom && ST_SetSRID(b.box, b.srid))",
        (NEIGHBOUR_MARGIN, list(ids), list(ids)),
    ).fetchall()
    return _parcels(rows)


@dataclass
class EditSession:
    """What the clerk is editing: change set, parcels, working geometry, undo stack."""

    change_set_id: int | None = None
    kind: str | None = None
    reason: str = ""
    dossier_number: str = ""
    #: cad.mutation.status: nhap (draft), da_nop (submitted), da_duyet, tu_choi.
    status: str | None = None
    #: Full-precision parcels around the edit (targets and neighbours).
    parcels: dict[int, ParcelGeom] = field(default_factory=dict)
    #: Parcels the current tool edits (split/reshape/merge targets).
    targets: list[int] = field(default_factory=list)
    #: Working geometries of reshaped parcels (undoable); compare with ``parcels``.
    stack: g.UndoStack = field(default_factory=g.UndoStack)
    #: The change set as last loaded (app.edit.changeset.ChangeSet) and its problems.
    change_set: Any = None
    problems: list[Any] = field(default_factory=list)
    snapper: g.Snapper = field(default_factory=g.Snapper)

    # -- parcels ----------------------------------------------------------------------------
    def set_parcels(self, parcels: Mapping[int, ParcelGeom], targets: Sequence[int]) -> None:
        """A fresh neighbourhood: working copies reset, snapping rebuilt."""
        self.parcels = dict(parcels)
        self.targets = [t for t in targets if t in self.parcels]
        self.stack.clear({k: p.geom for k, p in self.parcels.items()})
        self.snapper.set_geometries(self.stack.state)

    def add_parcels(self, parcels: Mapping[int, ParcelGeom]) -> None:
        """More parcels to snap to (the view moved); working copies and undo history of
        parcels already held are kept."""
        for k, p in parcels.items():
            if k not in self.parcels:
                self.parcels[k] = p
                self.stack.state[k] = p.geom
        self.snapper.set_geometries(self.stack.state)

    def label(self, pid: int, lang: str = "vi") -> str:
        return parcel_label(self.parcels.get(pid), pid, lang)

    def geometry(self, pid: int) -> Polygon | MultiPolygon:
        return self.stack.state[pid]

    def changed(self) -> dict[int, tuple[int, Polygon | MultiPolygon]]:
        """Reshaped parcels: {id: (base version, new geometry)} for draft_reshape."""
        out = {}
        for k, geom in self.stack.state.items():
            base = self.parcels.get(k)
            if base is not None and not geom.equals_exact(base.geom, 0.0):
                out[k] = (base.version, geom)
        return out

    # -- undoable vertex edits ----------------------------------------------------------
    def move_vertex(self, pid: int, ref: g.VertexRef, to: g.XY) -> dict[int, Any]:
        out = g.move_vertex(self.stack.state, pid, ref, to)
        self.stack.push("move", out)
        self.snapper.set_geometries(self.stack.state)
        return out

    def insert_vertex(self, pid: int, ref: g.VertexRef, at: g.XY) -> dict[int, Any]:
        out = g.insert_vertex(self.stack.state, pid, ref, at)
        self.stack.push("insert", out)
        self.snapper.set_geometries(self.stack.state)
        return out

    def delete_vertex(self, pid: int, ref: g.VertexRef) -> dict[int, Any]:
        out = g.delete_vertex(self.stack.state, pid, ref)
        self.stack.push("delete", out)
        self.snapper.set_geometries(self.stack.state)
        return out

    def undo(self) -> bool:
        done = self.stack.undo() is not None
        self.snapper.set_geometries(self.stack.state)
        return done

    def redo(self) -> bool:
        done = self.stack.redo() is not None
        self.snapper.set_geometries(self.stack.state)
        return done

    # -- store calls (run off the UI thread) -------------------------------------------
    def open(self, conn: psycopg.Connection, kind: str, reason: str, dossier: str) -> int:
        from app.edit import changeset

        cs = changeset.open_and_load(conn, kind, reason, dossier or None)
        self.change_set_id, self.kind, self.status = cs.id, kind, cs.status
        self.reason, self.dossier_number = reason, dossier
        self.problems = []
        self.change_set = cs
        return self.change_set_id

    def resume(self, conn: psycopg.Connection, change_set_id: int) -> Any:
        """Continue one's own draft change set (the store checks it is one's own)."""
        from app.edit import changeset

        cs = changeset.load(conn, change_set_id)
        self.change_set_id, self.kind, self.status = cs.id, cs.kind, cs.status
        self.reason, self.dossier_number = cs.reason, cs.dossier_number or ""
        self.problems = []
        self.change_set = cs
        return cs

    def _need_open(self) -> int:
        if self.change_set_id is None:
            raise g.GeometryError(
                "no_change_set",
                "Chưa mở biến động: hãy mở một biến động (loại, lý do, số hồ sơ) trước",
                "No change set is open: open one (kind, reason, dossier number) first",
            )
        return self.change_set_id

    def _parcel(self, pid: int) -> ParcelGeom:
        try:
            return self.parcels[pid]
        except KeyError:
            raise g.GeometryError(
                "parcel_gone",
                f"Thửa {pid} không còn hiệu lực (đã có biến động) hoặc nằm ngoài địa bàn của bạn",
                f"Parcel {pid} is no longer current (already changed) or outside your area",
            ) from None

    def _took(self, reply: Any) -> None:
        """A draft's reply: its problems, and the change set as it is now (same round
        trip; ``reload`` is no longer needed after a draft)."""
        self.problems = list(reply)
        if getattr(reply, "change_set", None) is not None:
            self.change_set = reply.change_set
            self.status = reply.change_set.status

    def split(self, conn: psycopg.Connection, pid: int, line: Sequence[g.XY]) -> list[Any]:
        """Cut parcel ``pid`` by ``line`` (checked here first: a bad line never reaches
        the store) and draft it; the store's problems come back."""
        from app.edit import changeset

        cs = self._need_open()
        parts = g.split_polygon(self._parcel(pid).geom, line)
        self._took(changeset.draft_split(conn, cs, pid, self.parcels[pid].version, parts))
        return self.problems

    def merge(self, conn: psycopg.Connection, ids: Sequence[int]) -> list[Any]:
        from app.edit import changeset

        cs = self._need_open()
        missing = [i for i in ids if i not in self.parcels]
        if missing:
            self.parcels.update(fetch_parcels(conn, ids=missing))
        merged = g.merge_polygons([self._parcel(i).geom for i in ids])
        versions = [self.parcels[i].version for i in ids]
        self._took(changeset.draft_merge(conn, cs, list(ids), versions, merged))
        return self.problems

    def save_reshape(self, conn: psycopg.Connection) -> list[Any]:
        from app.edit import changeset

        cs = self._need_open()
        changes = self.changed()
        if not changes:
            raise g.GeometryError(
                "nothing_changed",
                "Chưa có thay đổi ranh giới nào để lưu",
                "No boundary change to save",
            )
        self._took(changeset.draft_reshape(conn, cs, changes))
        return self.problems

    def new_parcel(
        self, conn: psycopg.Connection, points: Sequence[g.XY], attributes: Mapping[str, Any]
    ) -> list[Any]:
        from app.edit import changeset

        cs = self._need_open()
        poly = g.polygon_from_points(points)
        self._took(changeset.draft_new_parcel(conn, cs, poly, dict(attributes)))
        return self.problems

    def attributes(
        self, conn: psycopg.Connection, pid: int, attributes: Mapping[str, Any]
    ) -> list[Any]:
        """Land-use code / purposes, address, legal area of one parcel."""
        from app.edit import changeset

        cs = self._need_open()
        base = self._parcel(pid)
        self._took(changeset.draft_attributes(conn, cs, pid, base.version, dict(attributes)))
        return self.problems

    def remove_item(self, conn: psycopg.Connection, item_id: int) -> Any:
        """Drop a draft item; the change set without it comes back in the same reply."""
        from app.edit import changeset

        self.change_set = changeset.remove_item(conn, self._need_open(), item_id)
        return self.change_set

    def validate(self, conn: psycopg.Connection) -> list[Any]:
        from app.edit import changeset

        self.problems = list(changeset.validate(conn, self._need_open()))
        return self.problems

    def submit(self, conn: psycopg.Connection) -> None:
        from app.edit import changeset

        changeset.submit(conn, self._need_open())
        self.status = "da_nop"
        if self.change_set is not None:
            self.change_set.status = "da_nop"

    def reload(self, conn: psycopg.Connection) -> Any:
        from app.edit import changeset

        self.change_set = changeset.load(conn, self._need_open())
        self.status = getattr(self.change_set, "status", self.status)
        return self.change_set
