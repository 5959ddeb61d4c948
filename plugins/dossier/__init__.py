"""Hồ sơ quét — scanned dossiers (certificates, applications, contracts) linked to records."""

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
            Text("Tra cứu hồ sơ quét…", "Find scanned documents…"),
            when=(NEEDS_STORE, requires_right("doc.read")),
            order=10,
        ),
        Action(
            "dossier.attach",
            "dossier",
            Text("Gắn hồ sơ quét vào thửa đất…", "Attach scans to a parcel…"),
            when=(NEEDS_STORE, requires_right("doc.write")),
            order=20,
        ),
    ),
)
