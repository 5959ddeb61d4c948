"""National parcel ID: GeoHash encoding and the interior point, against known values."""

import numpy as np
import shapely

from app.domain.parcel_id import geohash_encode, national_parcel_ids


def test_geohash_known_values():
    # Published examples: ezs42 (Gustavo Niemeyer's), u4pruydqqvj (Jutland, 11 chars).
    assert geohash_encode(np.array([-5.6]), np.array([42.6]), 5).tolist() == ["ezs42"]
    assert geohash_encode(np.array([10.40744]), np.array([57.64911]), 11).tolist() == [
        "u4pruydqqvj"
    ]


def test_id_of_l_shaped_parcel_lies_inside_it():
    # An L shape whose centroid falls outside: the polylabel point must not.
    ell = shapely.Polygon(
        [(560000, 1300000), (560040, 1300000), (560040, 1300010), (560010, 1300010),
         (560010, 1300040), (560000, 1300040)]
    )  # fmt: skip
    assert not ell.contains(ell.centroid)
    (pid,) = national_parcel_ids(np.array([ell]), 9212)
    assert len(pid) == 12
    # Decode the cell centre back to VN-2000 and check it is inside the parcel.
    from pyproj import Transformer

    lon, lat = decode(pid)
    x, y = Transformer.from_crs(4326, 9212, always_xy=True).transform(lon, lat)
    assert ell.contains(shapely.Point(x, y))


def decode(code: str) -> tuple[float, float]:
    alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
    lon_lo, lon_hi, lat_lo, lat_hi = -180.0, 180.0, -90.0, 90.0
    even = True
    for ch in code:
        value = alphabet.index(ch)
        for bit in range(4, -1, -1):
            on = (value >> bit) & 1
            if even:
                mid = (lon_lo + lon_hi) / 2
                lon_lo, lon_hi = (mid, lon_hi) if on else (lon_lo, mid)
            else:
                mid = (lat_lo + lat_hi) / 2
                lat_lo, lat_hi = (mid, lat_hi) if on else (lat_lo, mid)
            even = not even
    return (lon_lo + lon_hi) / 2, (lat_lo + lat_hi) / 2


def test_matches_postgis_definition_for_a_round_parcel():
    # Same point and encoding as cad.national_parcel_id (checked against PostGIS 3.3).
    disc = shapely.Point(560000, 1300000).buffer(10)
    assert national_parcel_ids(np.array([disc]), 9212).tolist() == ["w65fy7gh9gn8"]
