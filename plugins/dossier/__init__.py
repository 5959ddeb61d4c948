"""Hồ sơ quét — scanned dossiers (certificates, applications, contracts) linked to records.

Storage and rights: db/sql/0012_dossier_storage.sql; core: app/dossier; views:
plugins/dossier/views.py; docs/dossiers.md.
"""

from app.plugin import NEEDS_STORE, Action, Menu, Plugin, Text, requires_right

PLUGIN = Plugin(
    id="dossier",
    title=Text("Hồ sơ quét", "Scanned dossiers"),
    order=50,
    right="doc",
    menus=(Menu("dossier", Text("Hồ sơ quét", "Scans"), order=50),),
    actions=(
        Action(
            "dossier.find",
            "dossier",
            Text("Xem hồ sơ quét của thửa đang chọn…", "Scanned documents of the selection…"),
            handler="plugins.dossier.views:find_documents",
            when=(NEEDS_STORE, requires_right("doc.read")),
            order=10,
        ),
        Action(
            "dossier.attach",
            "dossier",
            Text("Gắn hồ sơ quét vào thửa đất…", "Attach scans to a parcel…"),
            handler="plugins.dossier.views:attach",
            when=(NEEDS_STORE, requires_right("doc.write")),
            order=20,
        ),
        Action(
            "dossier.batch_import",
            "dossier",
            Text("Nhập hồ sơ quét theo thư mục…", "Import a folder of scans…"),
            handler="plugins.dossier.views:batch_import",
            when=(NEEDS_STORE, requires_right("doc.write")),
            order=30,
        ),
    ),
)
