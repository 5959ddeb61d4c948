"""Quy hoạch, kế hoạch sử dụng đất — land-use planning and annual land-use plans."""

from app.plugin import NEEDS_STORE, Action, Layer, Menu, Plugin, Text, requires_right

READ = (NEEDS_STORE, requires_right("plan.read"))

PLUGIN = Plugin(
    id="planning",
    title=Text("Quy hoạch, kế hoạch sử dụng đất", "Land-use planning"),
    order=30,
    right="plan",
    menus=(Menu("planning", Text("Quy hoạch", "Planning"), order=30),),
    actions=(
        Action(
            "planning.plans",
            "planning",
            Text("Quy hoạch, kế hoạch sử dụng đất", "Land-use plans"),
            when=READ,
            order=10,
        ),
        Action(
            "planning.overlay_parcel",
            "planning",
            Text("Chồng xếp thửa đất với quy hoạch…", "Overlay a parcel with the plan…"),
            when=READ,
            order=20,
        ),
    ),
    layers=(
        Layer(
            "planning.zone",
            Text("Quy hoạch sử dụng đất", "Planned land use"),
            source="plan.zone",
            geometry="multipolygon",
            style={
                "stroke": "#33a02c",
                "fill": "by planned land-use code",
                "opacity": 0.4,
                "label": "planned_code",
            },
            visible=False,
            z=60,
        ),
    ),
)
