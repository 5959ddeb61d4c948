"""Thống kê, kiểm kê — land statistics and inventories per period and unit."""

from app.plugin import NEEDS_STORE, Action, Layer, Menu, Plugin, Text, requires_right

READ = (NEEDS_STORE, requires_right("inv.read"))

PLUGIN = Plugin(
    id="inventory",
    title=Text("Thống kê, kiểm kê", "Statistics and inventory"),
    order=40,
    right="inv",
    menus=(Menu("inventory", Text("Thống kê, kiểm kê", "Inventory"), order=40),),
    actions=(
        Action(
            "inventory.periods",
            "inventory",
            Text("Kỳ thống kê, kiểm kê", "Inventory periods"),
            when=READ,
            order=10,
        ),
        Action(
            "inventory.area_tables",
            "inventory",
            Text("Biểu thống kê diện tích đất đai", "Land area statistics tables"),
            when=READ,
            order=20,
        ),
    ),
    layers=(
        Layer(
            "inventory.result",
            Text("Kết quả kiểm kê", "Inventory results"),
            source="inv.result",
            geometry="multipolygon",
            # inv.result holds areas per unit: the map draws, on each unit's boundary
            # (ref.admin_unit through unit_id), the share of non-agricultural land in the
            # newest period as a choropleth (five classes, light to dark).
            style={
                "thematic": "non_agricultural_share",
                "geometry_via": "unit_id -> ref.admin_unit.geom",
                "stroke": "#6a3d9a",
            },
            visible=False,
            z=35,
        ),
    ),
)
