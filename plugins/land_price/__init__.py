"""Giá đất — land price: the provincial price table by road segment, position and zone."""

from app.plugin import NEEDS_STORE, Action, Layer, Menu, Plugin, Text, requires_right

READ = (NEEDS_STORE, requires_right("price.read"))
WRITE = (NEEDS_STORE, requires_right("price.write"))

PLUGIN = Plugin(
    id="land_price",
    title=Text("Giá đất", "Land price"),
    order=20,
    right="price",
    menus=(Menu("land_price", Text("Giá đất", "Land price"), order=20),),
    actions=(
        Action(
            "land_price.price_table",
            "land_price",
            Text("Bảng giá đất", "Land price table"),
            when=READ,
            order=10,
        ),
        Action(
            "land_price.parcel_price",
            "land_price",
            Text("Tra cứu giá thửa đất…", "Look up a parcel's price…"),
            when=READ,
            order=20,
        ),
        Action(
            "land_price.coefficients",
            "land_price",
            Text("Hệ số điều chỉnh giá đất", "Price adjustment coefficients"),
            when=WRITE,
            order=30,
        ),
    ),
    layers=(
        Layer(
            "land_price.zone",
            Text("Khu vực giá đất", "Land price zones"),
            source="price.zone",
            geometry="multipolygon",
            min_scale=100_000,
            style={"stroke": "#b15928", "fill": "#fdbf6f", "opacity": 0.35, "label": "name"},
            visible=False,
            z=40,
        ),
        Layer(
            "land_price.road_segment",
            Text("Đoạn đường (giá đất)", "Priced road segments"),
            source="price.road_segment",
            geometry="line",
            min_scale=25_000,
            style={"stroke": "#e31a1c", "stroke_width_px": 3, "label": "{from_desc} – {to_desc}"},
            visible=False,
            z=50,
        ),
    ),
)
