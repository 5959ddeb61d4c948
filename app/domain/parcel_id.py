"""National parcel ID (mã thửa đất quốc gia, TT 19/2026 [T]) for many parcels at once.

The ID is the 12-character GeoHash, in WGS 84, of the parcel's pole of inaccessibility
(polylabel: centre of the maximum inscribed circle), a point always inside the parcel.
The database has the same definition (``cad.national_parcel_id``) for parcels created by
editors; this vectorised version serves bulk loads, where calling the SQL function per
row costs ~0.3 ms a parcel (5 min for a million). An ID is assigned once and stored, so
the two need not agree to the last centimetre — both give a point inside the parcel.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely
from pyproj import Transformer

_BASE32 = np.frombuffer(b"0123456789bcdefghjkmnpqrstuvwxyz", dtype=np.uint8)
GEOHASH_LENGTH = 12


def geohash_encode(lon: np.ndarray, lat: np.ndarray, length: int = GEOHASH_LENGTH) -> np.ndarray:
    """GeoHash strings of WGS 84 points; bits alternate longitude, latitude (lon first)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    bits = 5 * length
    lon_bits = (bits + 1) // 2
    lat_bits = bits // 2
    # Integer cell index along each axis; interleaving them gives the hash bits.
    lon_idx = np.floor((lon + 180.0) / 360.0 * (1 << lon_bits)).astype(np.uint64)
    lat_idx = np.floor((lat + 90.0) / 180.0 * (1 << lat_bits)).astype(np.uint64)
    lon_idx = np.minimum(lon_idx, (1 << lon_bits) - 1)
    lat_idx = np.minimum(lat_idx, (1 << lat_bits) - 1)
    code = np.zeros(lon.shape, dtype=np.uint64)
    for i in range(bits):
        if i % 2 == 0:  # longitude bit, most significant first
            bit = (lon_idx >> np.uint64(lon_bits - 1 - i // 2)) & np.uint64(1)
        else:
            bit = (lat_idx >> np.uint64(lat_bits - 1 - i // 2)) & np.uint64(1)
        code = (code << np.uint64(1)) | bit
    chars = np.empty((*lon.shape, length), dtype=np.uint8)
    for j in range(length):
        shift = np.uint64(5 * (length - 1 - j))
        chars[..., j] = _BASE32[((code >> shift) & np.uint64(31)).astype(np.intp)]
    return chars.view(f"S{length}").reshape(lon.shape).astype(f"U{length}")


def interior_points(geoms: np.ndarray) -> np.ndarray:
    """Centres of the maximum inscribed circles (polylabel) of projected polygons.

    The tolerance is 1/1000 of the larger side of the bounding box, as PostGIS uses.
    GEOS releases the GIL, so chunks run on all cores (~0.15 ms a parcel on one core).
    """
    geoms = np.asarray(geoms, dtype=object)
    bounds = shapely.bounds(geoms)
    tolerance = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) / 1000

    def chunk(sl: slice) -> np.ndarray:
        circles = shapely.maximum_inscribed_circle(geoms[sl], tolerance=tolerance[sl])
        return shapely.get_point(circles, 0)

    step = 20_000
    slices = [slice(i, i + step) for i in range(0, len(geoms), step)]
    if len(slices) <= 1:
        return chunk(slice(None))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return np.concatenate(list(pool.map(chunk, slices)))


def national_parcel_ids(geoms: np.ndarray, srid: int) -> np.ndarray:
    """National parcel IDs of parcels given in the projected province CRS ``srid``."""
    points = interior_points(np.asarray(geoms))
    to_wgs84 = Transformer.from_crs(srid, 4326, always_xy=True)
    lon, lat = to_wgs84.transform(shapely.get_x(points), shapely.get_y(points))
    return geohash_encode(np.asarray(lon), np.asarray(lat))
