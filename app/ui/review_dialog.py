"""The approver's review of submitted change sets (biến động): the old and the new
geometry overlaid on a small map image, the attribute differences, the store's
validation results, and approve / reject with a comment.

The store decides: approving one's own change set, or without the approver right, is
refused by the database with its own Vietnamese message, shown here as is.
"""

from __future__ import annotations

import datetime as dt
import html
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import shapely
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.edit.session import KINDS
from app.map.viewport import Viewport
from app.ui.edit_panel import error_text
from app.ui.edit_tools import _pen, format_area, geometry_path
from app.ui.i18n import translate
from app.ui.tables import read_only_table

OLD_COLOUR = QColor("#c62828")
NEW_COLOUR = QColor("#1565c0")
PREVIEW_SIZE = (640, 300)


def render_review(
    old: list[Any], new: list[Any], size: tuple[int, int] = PREVIEW_SIZE, lang: str = "vi"
) -> QImage:
    """Before and after side by side at one scale: left the parcels now (red), right the
    proposal (blue) over the old outlines (red, dashed), each shape labelled with its
    area, a scale bar under each."""
    w, h = size
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("#ffffff"))
    geoms = [x for x in (*old, *new) if x is not None and not x.is_empty]
    if not geoms:
        return image
    half = (w - 6) // 2
    bounds = tuple(float(v) for v in shapely.total_bounds(geoms))
    view = Viewport.fit(bounds, (half, h - 22), margin=0.06)
    p = QPainter(image)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(_pen(QColor("#9e9e9e"), 1.0))
        p.drawLine(half + 3, 4, half + 3, h - 4)
        titles = (translate("ReviewDialog", "Before"), translate("ReviewDialog", "After"))
        for pane, (title, shapes, fill, colour) in enumerate(
            (
                (titles[0], old, QColor(198, 40, 40, 40), OLD_COLOUR),
                (titles[1], new, QColor(21, 101, 192, 60), NEW_COLOUR),
            )
        ):
            p.save()
            p.translate(pane * (half + 6), 18)
            if pane == 1:  # the old outlines under the proposal, for reference
                p.setPen(_pen(OLD_COLOUR, 1.5, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                for geom in old:
                    p.drawPath(geometry_path(geom, view))
            p.setPen(_pen(colour, 2.0))
            p.setBrush(QBrush(fill))
            for geom in shapes:
                p.drawPath(geometry_path(geom, view))
            for geom in shapes:
                c = geom.representative_point()
                x, y = view.to_pixel(c.x, c.y)
                text = format_area(geom.area, lang)
                # On a light backing: the label stays readable across an outline.
                tw = p.fontMetrics().horizontalAdvance(text) + 8
                box = QRectF(x - tw / 2, y - 9, tw, 18)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QBrush(QColor(255, 255, 255, 200)))
                p.drawRoundedRect(box, 3, 3)
                p.setPen(QColor("#000000"))
                p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
            p.restore()
            p.drawText(QRectF(pane * (half + 6) + 6, 0, half - 12, 16), title)
        # Scale bar: a round length about a fifth of a pane.
        metres = view.resolution * half / 5
        nice = 10 ** int(f"{metres:e}".split("e")[1])
        for m in (5, 2, 1):
            if m * nice <= metres:
                nice *= m
                break
        length = nice / view.resolution
        p.setPen(_pen(QColor("#000000"), 2.0))
        y = h - 6
        for x0 in (8, half + 14):
            p.drawLine(x0, y, int(x0 + length), y)
            p.drawText(QRectF(x0 + length + 4, y - 12, 80, 14), f"{nice:g} m")
    finally:
        p.end()
    return image


class ReviewDialog(QDialog):
    """Pick a submitted change set, review it, approve or reject it."""

    # Emitted after approve/reject/load replies (tests wait on it): "ok" or "error".
    finished_job = Signal(str)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.lang: str = getattr(ctx, "lang", "vi")
        self.setObjectName("reviewDialog")
        self.setWindowTitle(translate("ReviewDialog", "Review change sets"))
        self.resize(1100, 760)
        self.change_sets: list[Any] = []
        self.current: Any = None
        self.review_data: dict | None = None
        self.approved_ids: list[int] = []
        self.busy = 0

        split = QSplitter(Qt.Orientation.Horizontal, self)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(QLabel(translate("ReviewDialog", "Submitted change sets")))
        self.list = QListWidget()
        self.list.setObjectName("submittedChangeSets")
        self.list.setWordWrap(True)  # long kinds and dossier numbers wrap, not cut
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._picked)
        lv.addWidget(self.list)
        self.reload_button = QPushButton(translate("ReviewDialog", "Refresh"))
        self.reload_button.clicked.connect(self.load_list)
        lv.addWidget(self.reload_button)
        split.addWidget(left)

        right = QWidget()
        rv = QVBoxLayout(right)
        self.header = QLabel("")
        self.header.setObjectName("reviewHeader")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Four lines (kind, reason, dossier, author): a wrapped label is otherwise
        # squeezed to its first line by the fixed-size preview below it.
        self.header.setMinimumHeight(self.header.fontMetrics().lineSpacing() * 4 + 4)
        rv.addWidget(self.header)
        self.preview = QLabel()
        self.preview.setObjectName("reviewPreview")
        self.preview.setFixedSize(*PREVIEW_SIZE)
        rv.addWidget(self.preview)
        legend = QLabel(
            translate(
                "ReviewDialog",
                "Left: the parcels now (red). Right: after approval (blue), over the old "
                "outlines (red, dashed)",
            )
        )
        legend.setObjectName("reviewLegend")
        legend.setStyleSheet("color: #555555;")
        rv.addWidget(legend)
        self.diff_title = QLabel(translate("ReviewDialog", "Differences"))
        rv.addWidget(self.diff_title)
        self.diff = read_only_table(
            [
                translate("ReviewDialog", "Parcel"),
                translate("ReviewDialog", "Field"),
                translate("ReviewDialog", "Before"),
                translate("ReviewDialog", "After"),
            ],
            "reviewDiff",
        )
        self.diff.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.diff.setMinimumHeight(self.diff.verticalHeader().defaultSectionSize() * 4 + 30)
        rv.addWidget(self.diff, 1)
        # Transfers, mortgages, certificates: no shape to draw, their content in words.
        self.records_title = QLabel(translate("ReviewDialog", "Records"))
        rv.addWidget(self.records_title)
        self.records = QTextEdit()
        self.records.setObjectName("reviewRecords")
        self.records.setReadOnly(True)
        rv.addWidget(self.records, 2)
        self.records_title.setVisible(False)
        self.records.setVisible(False)
        rv.addWidget(QLabel(translate("ReviewDialog", "Validation")))
        self.problems = QListWidget()
        self.problems.setObjectName("reviewProblems")
        self.problems.setMaximumHeight(64)
        rv.addWidget(self.problems)
        rv.addWidget(QLabel(translate("ReviewDialog", "Comment")))
        self.comment = QPlainTextEdit()
        self.comment.setObjectName("reviewComment")
        self.comment.setMaximumHeight(60)
        rv.addWidget(self.comment)
        self.status = QLabel("")
        self.status.setObjectName("reviewStatus")
        self.status.setWordWrap(True)
        rv.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.approve_button = QPushButton(translate("ReviewDialog", "Approve"))
        self.approve_button.setObjectName("approveChangeSet")
        self.approve_button.clicked.connect(self.approve)
        self.reject_button = QPushButton(translate("ReviewDialog", "Reject"))
        self.reject_button.setObjectName("rejectChangeSet")
        self.reject_button.clicked.connect(self.reject_change_set)
        close = QPushButton(translate("ReviewDialog", "Close"))
        close.clicked.connect(self.accept)
        for b in (self.approve_button, self.reject_button, close):
            buttons.addWidget(b)
        rv.addLayout(buttons)
        split.addWidget(right)
        split.setSizes([300, 800])
        QVBoxLayout(self).addWidget(split)
        self._update_enabled()

    # -- plumbing -----------------------------------------------------------------------
    def _run(self, fn: Callable[[psycopg.Connection], Any], done: Callable[[Any], None]) -> None:
        self.busy += 1
        self._update_enabled()
        session = self.ctx.session

        def ok(result: Any) -> None:
            self.busy -= 1
            try:
                done(result)
            finally:
                self._update_enabled()
                self.finished_job.emit("ok")

        def bad(exc: BaseException) -> None:
            self.busy -= 1
            self.say(error_text(exc, self.lang), True)
            if not isinstance(exc, psycopg.Error):
                traceback.print_exception(exc)
            self._update_enabled()
            self.finished_job.emit("error")

        self.ctx.run_in_background(lambda: session.run(fn), ok, bad)

    def say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "color: #1b5e20;")

    def _update_enabled(self) -> None:
        can = self.busy == 0 and self.current is not None and self.current.status == "da_nop"
        self.approve_button.setEnabled(can)
        self.reject_button.setEnabled(can)
        self.reload_button.setEnabled(self.busy == 0)

    # -- list -----------------------------------------------------------------------------
    def load_list(self) -> None:
        from app.edit import changeset

        self._run(lambda conn: changeset.list_change_sets(conn, "da_nop"), self._show_list)

    def _show_list(self, change_sets: list[Any]) -> None:
        self.change_sets = list(change_sets)
        self.list.clear()
        for cs in self.change_sets:
            kind = KINDS.get(cs.kind, (cs.kind, cs.kind))
            stamp = cs.submitted_at or cs.created_at
            when = stamp.strftime("%d/%m/%Y %H:%M") if stamp else ""
            # Two short lines instead of one long truncated one; the reason as tooltip.
            first = f"#{cs.id} {kind[1] if self.lang == 'en' else kind[0]}"
            if cs.dossier_number:
                first += f" — {cs.dossier_number}"
            item = QListWidgetItem(f"{first}\n    {cs.author_label} · {when}")
            item.setToolTip(cs.reason or "")
            self.list.addItem(item)
        if not self.change_sets:
            self.say(translate("ReviewDialog", "No change set is waiting for approval"))
            self.current = None
            self._clear()

    def select(self, change_set_id: int) -> bool:
        for i, cs in enumerate(self.change_sets):
            if cs.id == change_set_id:
                self.list.setCurrentRow(i)
                return True
        return False

    def _picked(self, row: int) -> None:
        if not (0 <= row < len(self.change_sets)):
            return
        cs_id = self.change_sets[row].id
        self.load_review(cs_id)

    def load_review(self, cs_id: int) -> None:
        from app.edit import changeset

        self._run(lambda conn: changeset.review(conn, cs_id), self._show_review)

    def _clear(self) -> None:
        self.header.setText("")
        self.preview.clear()
        self.diff.setRowCount(0)
        self.problems.clear()

    # -- the review -------------------------------------------------------------------
    def _show_review(self, data: dict) -> None:
        cs = data["change_set"]
        self.current, self.review_data = cs, data
        kind = KINDS.get(cs.kind, (cs.kind, cs.kind))
        when = cs.created_at.strftime("%d/%m/%Y %H:%M") if cs.created_at else ""
        self.header.setText(
            translate(
                "ReviewDialog",
                "Change set no. {id}: {kind}\nReason: {reason}\nDossier: {dossier}\n"
                "Drafted by {who} on {when}",
            ).format(
                id=cs.id,
                kind=kind[1] if self.lang == "en" else kind[0],
                reason=cs.reason or "",
                dossier=cs.dossier_number or "—",
                who=cs.author_label,  # full name — unit (role)
                when=when,
            )
        )
        items = data.get("items") or []
        old_geoms = [o["geom"] for it in items for o in it["old"] if o.get("geom") is not None]
        new_geoms = [n["geom"] for it in items for n in it["new"] if n.get("geom") is not None]
        # A record item keeps its parcel as it is: drawn on both sides.
        new_geoms += [
            o["geom"]
            for it in items
            if it.get("record") and not it["new"]
            for o in it["old"]
            if o.get("geom") is not None and o["geom"] not in new_geoms
        ]
        self.preview_image = render_review(old_geoms, new_geoms, lang=self.lang)
        self.preview.setPixmap(QPixmap.fromImage(self.preview_image))
        self._fill_diff(items)
        self._fill_records(items)
        self.problems.clear()
        problems = list(data.get("problems") or [])
        labels = {
            o.get("parcel_id"): _parcel_label(o, self.lang) for it in items for o in it["old"]
        }
        for p in problems:
            where = f"{labels.get(p.parcel_id, p.parcel_id)}: " if p.parcel_id else ""
            self.problems.addItem(QListWidgetItem(f"{where}{p.message}"))
        if not problems:
            ok = QListWidgetItem(translate("ReviewDialog", "No validation problems"))
            ok.setForeground(QColor("#1b5e20"))
            self.problems.addItem(ok)
        self.say("")

    def _fill_diff(self, items: list[dict]) -> None:
        """Per item: area and purposes before and after, then the store's own attribute
        differences."""
        rows: list[tuple[str, str, str, str]] = []
        for it in items:
            old, new = it["old"], it["new"]
            if it.get("record") and not new and not it.get("diff"):
                continue  # a transfer, mortgage or certificate: shown in words below
            parents = ", ".join(_parcel_label(o, self.lang) for o in old) or translate(
                "ReviewDialog", "new"
            )
            before = "; ".join(
                format_area(float(o.get("area_legal") or o.get("area_computed") or 0), self.lang)
                for o in old
            )
            after = "; ".join(format_area(float(n.get("area") or 0), self.lang) for n in new)
            if new or (old and not it.get("record")):  # a record item keeps its area
                rows.append(
                    (parents, translate("ReviewDialog", "Area"), before or "—", after or "—")
                )
            uses_before = "; ".join(_uses(o.get("land_uses"), self.lang) for o in old)
            uses_after = "; ".join(
                str((n.get("attributes") or {}).get("land_use_code") or "") for n in new
            ).strip("; ")
            if uses_before or uses_after:
                rows.append(
                    (
                        parents,
                        translate("ReviewDialog", "Land use"),
                        uses_before or "—",
                        uses_after or translate("ReviewDialog", "as before, scaled to the area"),
                    )
                )
            fields = {
                "address": translate("ReviewDialog", "Address"),
                "area_legal": translate("ReviewDialog", "Legal area"),
                "land_uses": translate("ReviewDialog", "Land use"),
            }
            for d in it.get("diff") or []:
                field = str(d.get("field"))
                rows.append(
                    (
                        parents,
                        fields.get(field, field),
                        _fmt(d.get("old"), self.lang, field),
                        _fmt(d.get("new"), self.lang, field),
                    )
                )
        # Only record items: the table gives its room to their description.
        self.diff_title.setVisible(bool(rows) or not items)
        self.diff.setVisible(bool(rows) or not items)
        self.diff.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, v in enumerate(values):
                self.diff.setItem(r, c, QTableWidgetItem(v))

    def _fill_records(self, items: list[dict]) -> None:
        blocks = []
        for it in items:
            if not it.get("record"):
                continue
            from app.ui.record_forms import op_name

            parcels = ", ".join(_parcel_label(o, self.lang) for o in it["old"])
            lines = record_lines(it["op"], it["record"])
            label = op_name(it["op"])
            label = label[:1].upper() + label[1:]
            head = (
                translate("ReviewDialog", "{label} — parcel {parcels}").format(
                    label=label, parcels=parcels
                )
                if parcels  # a person's correction names no parcel
                else label
            )
            body = "".join(
                f"<br>&nbsp;&nbsp;{html.escape(x).replace('    ', '&nbsp;' * 6)}" for x in lines
            )
            if it.get("summary"):
                body = f"<br><i>{html.escape(it['summary'])}</i>" + body
            blocks.append(f"<p><b>{html.escape(head)}</b>{body}</p>")
        self.records.setHtml("".join(blocks))
        self.records_title.setVisible(bool(blocks))
        self.records.setVisible(bool(blocks))

    # -- decisions ----------------------------------------------------------------------
    def approve(self) -> None:
        from app.edit import changeset

        cs_id = self.current.id
        comment = self.comment.toPlainText().strip()

        def done(new_ids: list[int]) -> None:
            self.approved_ids = list(new_ids)
            self.say(
                translate(
                    "ReviewDialog", "Change set no. {id} approved; new parcels: {ids}"
                ).format(id=cs_id, ids=", ".join(map(str, new_ids)) or "—")
            )
            self.current.status = "da_duyet"
            self._refresh_map()
            self.load_list()

        self._run(lambda conn: changeset.approve(conn, cs_id, comment), done)

    def _refresh_map(self) -> None:
        """The approver's own map shows the new parcels at once (its cache is stale)."""
        canvas = getattr(getattr(self.ctx, "window", None), "canvas", None)
        if canvas is not None:
            canvas.fetcher.clear_cache()
            canvas.refresh()

    def reject_change_set(self) -> None:
        from app.edit import changeset

        comment = self.comment.toPlainText().strip()
        if not comment:
            self.say(translate("ReviewDialog", "Give the reason of the rejection"), True)
            return
        cs_id = self.current.id

        def done(_r: Any) -> None:
            self.say(translate("ReviewDialog", "Change set no. {id} rejected").format(id=cs_id))
            self.current.status = "tu_choi"
            self.load_list()

        self._run(lambda conn: changeset.reject(conn, cs_id, comment), done)


def _day(value: Any) -> str:
    return dt.date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y") if value else "—"


def _money(value: Any) -> str:
    return f"{int(Decimal(str(value))):,}".replace(",", ".") + " đồng"


def _person(h: dict) -> str:
    from fractions import Fraction

    from app.ui.record_forms import format_share

    text = f"{h.get('full_name') or '#' + str(h.get('party_id'))}"
    extra = []
    if h.get("id_number_masked"):
        extra.append(f"{(h.get('id_kind') or '').upper()} {h['id_number_masked']}".strip())
    if h.get("birth_year"):
        extra.append(translate("ReviewDialog", "born {y}").format(y=h["birth_year"]))
    if h.get("new"):
        extra.append(translate("ReviewDialog", "new person, created on approval"))
    if extra:
        text += f" ({', '.join(extra)})"
    share = format_share(Fraction(Decimal(str(h.get("share") or 0))))
    return translate("ReviewDialog", "{who} — share {share}").format(who=text, share=share)


def record_lines(op: str, rec: dict) -> list[str]:
    """What a record item (migration 0024) does, in lines an approver reads."""
    from app.ui.record_forms import party_kind_name, right_kind_name, role_name

    if op == "rights":
        kind = right_kind_name(rec.get("right_kind"))
        out = [kind, translate("ReviewDialog", "Holders now:")]
        out += [f"    {_person(h)}" for h in rec.get("old_holders") or []] or ["    —"]
        out.append(translate("ReviewDialog", "After approval:"))
        out += [f"    {_person(h)}" for h in rec.get("new_holders") or []]
        return out
    if op in ("mortgage", "mortgage_release"):
        out = [
            translate("ReviewDialog", "Lender: {x}").format(x=rec.get("lender")),
            translate("ReviewDialog", "Contract no.: {x}").format(x=rec.get("contract_number")),
            translate("ReviewDialog", "Registered on: {x}").format(
                x=_day(rec.get("registered_on"))
            ),
        ]
        if rec.get("secured_amount") is not None:
            out.append(
                translate("ReviewDialog", "Secured amount: {x}").format(
                    x=_money(rec["secured_amount"])
                )
            )
        if op == "mortgage_release":
            out.append(
                translate("ReviewDialog", "Released on: {x}").format(x=_day(rec.get("released_on")))
            )
        else:
            others = rec.get("in_force") or []
            out.append(
                translate("ReviewDialog", "Other mortgages in force on the parcel: {x}").format(
                    x="; ".join(
                        f"{m['lender']} ({m['contract_number']}, {_day(m['registered_on'])})"
                        for m in others
                    )
                    or translate("ReviewDialog", "none")
                )
            )
        return out
    if op == "certificate":
        out = [
            translate("ReviewDialog", "Serial: {x}").format(x=rec.get("serial")),
            translate("ReviewDialog", "Register no.: {x}").format(x=rec.get("register_number")),
            translate("ReviewDialog", "Issued on: {x}").format(x=_day(rec.get("issued_on"))),
            translate("ReviewDialog", "Issuer: {x}").format(x=rec.get("issuer")),
        ]
        replaced = rec.get("replaces") or []
        out.append(
            translate("ReviewDialog", "Replaces (becomes «cấp đổi»): {x}").format(
                x="; ".join(
                    translate("ReviewDialog", "{serial} issued {day}").format(
                        serial=c["serial"], day=_day(c.get("issued_on"))
                    )
                    for c in replaced
                )
                or translate("ReviewDialog", "no certificate in force")
            )
        )
        return out
    if op == "party":
        out = [
            translate("ReviewDialog", "{kind} {name} (version {v})").format(
                kind=party_kind_name(rec.get("party_kind")),
                name=rec.get("full_name"),
                v=rec.get("base_version"),
            )
        ]
        for f in rec.get("fields") or []:
            old, new = _value(f.get("old")), _value(f.get("new"))
            out.append(f"    {_field_name(f['field'])}: «{old}» → «{new}»")
        return out
    if op == "party_members":

        def member(m: dict) -> str:
            text = f"{m.get('full_name') or '#' + str(m.get('party_id'))} — {role_name(m['role'])}"
            extra = []
            if m.get("id_number"):
                extra.append(f"{(m.get('id_kind') or '').upper()} {m['id_number']}".strip())
            if m.get("birth_year"):
                extra.append(translate("ReviewDialog", "born {y}").format(y=m["birth_year"]))
            if m.get("new"):
                extra.append(translate("ReviewDialog", "new person, created on approval"))
            return text + (f" ({', '.join(extra)})" if extra else "")

        out = [
            translate("ReviewDialog", "{kind} {name} (version {v})").format(
                kind=party_kind_name(rec.get("party_kind")),
                name=rec.get("full_name"),
                v=rec.get("base_version"),
            ),
            translate("ReviewDialog", "Members now:"),
        ]
        out += [f"    {member(m)}" for m in rec.get("before") or []] or ["    —"]
        out.append(translate("ReviewDialog", "After approval:"))
        out += [f"    {member(m)}" for m in rec.get("after") or []]
        return out
    return []


def _field_name(field: str) -> str:
    return {
        "full_name": translate("ReviewDialog", "full name"),
        "gender": translate("ReviewDialog", "gender"),
        "birth_year": translate("ReviewDialog", "birth year"),
        "id_kind": translate("ReviewDialog", "document kind"),
        "id_number": translate("ReviewDialog", "document number"),
        "address": translate("ReviewDialog", "address"),
    }.get(field, field)


def _value(value: Any) -> str:
    if value is None:
        return ""
    return {
        "nam": translate("ReviewDialog", "male"),
        "nu": translate("ReviewDialog", "female"),
        "cccd": "CCCD",
        "cmnd": "CMND",
        "ho_chieu": translate("ReviewDialog", "passport"),
        "mst": translate("ReviewDialog", "tax code"),
    }.get(str(value), str(value))


def _parcel_label(o: dict, lang: str = "vi") -> str:
    """As registers name a parcel: "45 tờ 1" (parcel 45 of map sheet 1) — the same label
    as the editor's (app.edit.session.parcel_label)."""
    from app.edit.session import ParcelGeom, parcel_label

    pid = int(o.get("parcel_id") or 0)
    held = ParcelGeom(pid, 0, None, o.get("parcel_number"), o.get("sheet_number"))  # type: ignore[arg-type]
    return parcel_label(held, pid, lang)


def _uses(uses: Any, lang: str | None = None) -> str:
    """ "ONT, CLN"; with ``lang`` each purpose with its area: "ONT 300,0 m², CLN 303,8 m²"."""
    if not uses:
        return ""
    out = []
    for u in uses:
        if not isinstance(u, dict):
            continue
        area = u.get("area")
        if lang is not None and isinstance(area, int | float):
            out.append(f"{u.get('code')} {format_area(float(area), lang)}")
        else:
            out.append(str(u.get("code")))
    return ", ".join(out)


def _fmt(value: Any, lang: str, field: str = "") -> str:
    if isinstance(value, list):
        return _uses(value, lang) or "—"
    if value is None:
        return "—"
    if field == "area_legal":
        try:
            return format_area(float(value), lang)  # "1.234,5 m²"
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        from app.ui.i18n import format_float

        return format_float(value, lang, 1)
    return str(value)


def show_review(ctx: Any) -> ReviewDialog:
    dialog = ReviewDialog(ctx, getattr(ctx, "window", None))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.load_list()
    return dialog
