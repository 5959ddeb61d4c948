"""Nhập xuất — import and export of cadastral data (GeoPackage, Shapefile, XML exchange)."""

from app.plugin import NEEDS_STORE, Action, Menu, Plugin, Text, requires_right

PLUGIN = Plugin(
    id="import_export",
    title=Text("Nhập xuất", "Import and export"),
    order=70,
    right="io",
    menus=(Menu("import_export", Text("Nhập xuất", "Import/Export"), order=70),),
    actions=(
        Action(
            "import_export.import_map",
            "import_export",
            Text("Nhập bản đồ địa chính…", "Import cadastral map…"),
            when=(NEEDS_STORE, requires_right("io.import")),
            order=10,
        ),
        Action(
            "import_export.export",
            "import_export",
            Text("Xuất dữ liệu…", "Export data…"),
            when=(NEEDS_STORE, requires_right("io.export")),
            order=20,
        ),
        Action(
            "import_export.log",
            "import_export",
            Text("Nhật ký nhập dữ liệu", "Import log"),
            when=(NEEDS_STORE, requires_right("io.import")),
            order=30,
        ),
    ),
)
