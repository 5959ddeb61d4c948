"""Địa chính — cadastral records: parcels, map sheets, administrative boundaries."""

from app.plugin import NEEDS_STORE, Action, Layer, Menu, Plugin, Text, requires_right

READ = (NEEDS_STORE, requires_right("cad.read"))
WRITE = (NEEDS_STORE, requires_right("cad.write"))
APPROVE = (NEEDS_STORE, requires_right("cad.approve"))
EDIT = "plugins.cadastral.edit_actions"

PLUGIN = Plugin(
    id="cadastral",
    title=Text("Địa chính", "Cadastre"),
    order=10,
    right="cad",
    menus=(
        Menu("cadastral", Text("Địa chính", "Cadastre"), order=10),
        Menu("cadastral/edit", Text("Biến động", "Change sets"), order=50),
        Menu("cadastral/reports", Text("Báo cáo", "Reports"), order=90),
    ),
    actions=(
        Action(
            "cadastral.find_parcel",
            "cadastral",
            Text("Tìm thửa đất…", "Find parcel…"),
            shortcut="Ctrl+F",
            when=READ,
            order=10,
        ),
        Action(
            "cadastral.parcel_record",
            "cadastral",
            Text("Hồ sơ thửa đất", "Parcel record"),
            when=READ,
            order=20,
        ),
        Action(
            "cadastral.parcel_history",
            "cadastral",
            Text("Lịch sử biến động thửa đất", "Parcel history"),
            when=READ,
            order=30,
        ),
        Action(
            "cadastral.find_party",
            "cadastral",
            Text("Tìm chủ sử dụng…", "Find land user…"),
            when=READ,
            order=40,
        ),
        Action(
            "cadastral.draft_mutation",
            "cadastral/edit",
            Text("Mở biến động…", "Open a change set…"),
            handler=f"{EDIT}:open_change_set",
            tooltip=Text(
                "Lập biến động (tách, hợp thửa, sửa ranh giới…) với loại, lý do và số hồ sơ",
                "Draft a change set (split, merge, boundary…) with kind, reason and dossier",
            ),
            when=WRITE,
            order=10,
        ),
        Action(
            "cadastral.split",
            "cadastral/edit",
            Text("Tách thửa", "Split parcel"),
            handler=f"{EDIT}:split",
            when=WRITE,
            order=20,
            separator_before=True,
        ),
        Action(
            "cadastral.merge",
            "cadastral/edit",
            Text("Hợp thửa", "Merge parcels"),
            handler=f"{EDIT}:merge",
            when=WRITE,
            order=30,
        ),
        Action(
            "cadastral.reshape",
            "cadastral/edit",
            Text("Sửa ranh giới", "Edit boundary"),
            handler=f"{EDIT}:reshape",
            when=WRITE,
            order=40,
        ),
        Action(
            "cadastral.new_parcel",
            "cadastral/edit",
            Text("Vẽ thửa mới", "Draw new parcel"),
            handler=f"{EDIT}:new_parcel",
            when=WRITE,
            order=50,
        ),
        Action(
            "cadastral.measure_distance",
            "cadastral/edit",
            Text("Đo khoảng cách", "Measure distance"),
            handler=f"{EDIT}:measure_distance",
            when=READ,
            order=60,
            separator_before=True,
        ),
        Action(
            "cadastral.measure_area",
            "cadastral/edit",
            Text("Đo diện tích", "Measure area"),
            handler=f"{EDIT}:measure_area",
            when=READ,
            order=70,
        ),
        Action(
            "cadastral.review",
            "cadastral/edit",
            Text("Duyệt biến động…", "Review change sets…"),
            handler=f"{EDIT}:review",
            when=APPROVE,
            order=80,
            separator_before=True,
        ),
        Action(
            "cadastral.stats_by_commune",
            "cadastral/reports",
            Text("Thống kê số thửa theo xã", "Parcel count by commune"),
            handler="plugins.cadastral.views:show_commune_stats",
            shortcut="Ctrl+Shift+T",
            when=READ,
            order=10,
        ),
        Action(
            "cadastral.duplicate_numbers",
            "cadastral/reports",
            Text("Thửa trùng số trên tờ bản đồ", "Duplicate parcel numbers"),
            when=READ,
            order=20,
        ),
    ),
    layers=(
        Layer(
            "cadastral.admin_unit",
            Text("Địa giới hành chính", "Administrative boundaries"),
            source="ref.admin_unit",
            geometry="multipolygon",
            style={
                "stroke": "#7b3294",
                "stroke_width_px": 2,
                "dash": "dash-dot",
                "fill": None,
                "label": "name",
            },
            z=30,
        ),
        Layer(
            "cadastral.map_sheet",
            Text("Tờ bản đồ địa chính", "Cadastral map sheets"),
            source="cad.map_sheet",
            geometry="polygon",
            geometry_column="frame",
            min_scale=50_000,
            style={
                "stroke": "#1f78b4",
                "stroke_width_px": 1,
                "fill": None,
                "label": "sheet_number",
            },
            z=20,
        ),
        Layer(
            "cadastral.parcel",
            Text("Thửa đất", "Parcels"),
            source="cad.parcel",
            geometry="multipolygon",
            # Shown down to a district-size view: the engine paints 200 000 parcels in
            # about a second, and a commune officer opens on a whole commune (~1:15 000).
            min_scale=100_000,
            style={
                "stroke": "#222222",
                "stroke_width_px": 0.5,
                "fill": "by land-use code",
                "label": "parcel_number / land-use code / area",
                "label_max_scale": 2_500,
            },
            z=10,
        ),
    ),
)
