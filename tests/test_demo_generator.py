"""The demo generator without a database: determinism and the invariants of its rows."""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely

from app.demo.province import generate_province

CODES_CSV = Path(__file__).resolve().parents[1] / "db" / "ref" / "land_use_codes.csv"


@pytest.fixture(scope="module")
def province():
    return generate_province(parcels=5_000, seed=11)


def current_codes() -> set[str]:
    with CODES_CSV.open(encoding="utf-8") as f:
        return {r["code"] for r in csv.DictReader(f) if r["status"] == "current"}


def test_same_seed_same_rows_other_seed_other_rows(province):
    again = generate_province(parcels=5_000, seed=11)
    other = generate_province(parcels=5_000, seed=12)
    first = shapely.to_wkb(np.asarray(province.tables["cad.parcel"].columns["geom"][:100]))
    assert list(first) == list(
        shapely.to_wkb(np.asarray(again.tables["cad.parcel"].columns["geom"][:100]))
    )
    assert (
        province.tables["cad.party"].columns["full_name"][:200]
        == (again.tables["cad.party"].columns["full_name"][:200])
    )
    assert list(first) != list(
        shapely.to_wkb(np.asarray(other.tables["cad.parcel"].columns["geom"][:100]))
    )


def current_parcels(province):
    t = province.tables["cad.parcel"].columns
    current = np.array([r is None for r in t["retired_at"]])
    return t, current


def test_parcels_valid_without_overlaps_or_slivers(province):
    t, current = current_parcels(province)
    geoms = np.asarray(t["geom"], dtype=object)[current]
    assert shapely.is_valid(geoms).all()
    assert shapely.area(geoms).min() >= 30.0
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    pairs = a < b
    overlap = shapely.area(shapely.intersection(geoms[a[pairs]], geoms[b[pairs]]))
    assert (overlap > 0.01).sum() == 0
    assert pairs.sum() > len(geoms)  # neighbours do touch: a tiling, not scattered shapes


def test_parcels_inside_the_province(province):
    t, current = current_parcels(province)
    units = province.tables["ref.admin_unit"].columns
    (prov,) = [g for g, lvl in zip(units["geom"], units["level"], strict=True) if lvl == "province"]
    geoms = np.asarray(t["geom"], dtype=object)[current]
    outside = shapely.area(shapely.difference(geoms, prov))
    assert outside.max() < 0.01


def test_keys_unique_except_flagged_duplicates(province):
    t, current = current_parcels(province)
    keys = Counter(
        (s, n) for s, n, c in zip(t["sheet_id"], t["parcel_number"], current, strict=True) if c
    )
    dup_flags = int((np.asarray(t["duplicate_seq"])[current] > 0).sum())
    assert sum(c - 1 for c in keys.values()) == dup_flags
    assert 0 < dup_flags <= 0.005 * current.sum()
    ids = np.asarray(t["national_id"])[current]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 12 for i in ids)


def test_land_use_codes_current_and_mix_plausible(province):
    codes = Counter(province.tables["cad.land_use"].columns["code"])
    assert set(codes) <= current_codes()
    for code in ("ONT", "ODT", "CLN", "HNK", "LUC", "DGT", "SON"):
        assert codes[code] > 0, code
    assert codes["CLN"] + codes["HNK"] + codes["LUC"] > codes["DGT"]
    planned = set(province.tables["plan.zone"].columns["planned_code"])
    assert planned <= current_codes()


def test_people(province):
    p = province.tables["cad.party"].columns
    ids = [i for i, k in zip(p["id_number"], p["id_kind"], strict=True) if k == "cccd"]
    assert all(len(i) == 12 and i.isdigit() for i in ids)
    assert len(set(ids)) == len(ids)
    names = p["full_name"]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    joined = " ".join(names)
    assert all(ch in joined for ch in "ễộờđ")
    # A person's middle name fits the gender: no man is "Thị".
    males = [n for n, g in zip(names, p["gender"], strict=True) if g == "nam"]
    assert not any(" Thị " in n for n in males)


def test_shares_sum_to_one(province):
    r = province.tables["cad.land_right"].columns
    total: dict[tuple, float] = defaultdict(float)
    for parcel, kind, share in zip(r["parcel_id"], r["kind"], r["share"], strict=True):
        total[(parcel, kind)] += share
    assert all(abs(s - 1) < 1e-6 for s in total.values())


def test_lineage_parents_are_their_children(province):
    t = province.tables["cad.parcel"].columns
    geom = dict(zip(t["id"], t["geom"], strict=True))
    lin = province.tables["cad.parcel_lineage"].columns
    by_mutation: dict[int, tuple[set, set]] = defaultdict(lambda: (set(), set()))
    for m, parent, child in zip(lin["mutation_id"], lin["parent_id"], lin["child_id"], strict=True):
        by_mutation[m][0].add(parent)
        by_mutation[m][1].add(child)
    assert len(by_mutation) >= 20
    for parents, children in by_mutation.values():
        a = sum(geom[i].area for i in parents)
        b = sum(geom[i].area for i in children)
        assert a == pytest.approx(b, abs=0.01)
        assert len(parents) == 1 or len(children) == 1  # a split or a merge


def test_communes_before_and_after_the_merger(province):
    u = province.tables["ref.admin_unit"].columns
    new = [c for c, lvl, to in zip(u["code"], u["level"], u["valid_to"], strict=True)
           if lvl == "commune" and to is None]  # fmt: skip
    old = [c for c, lvl, to in zip(u["code"], u["level"], u["valid_to"], strict=True)
           if lvl == "commune" and to is not None]  # fmt: skip
    assert len(new) >= 5 and len(old) >= 2 * len(new)
    assert all(len(c) == 5 and c.isdigit() for c in new + old)
    assert set(new) & set(old), "one old commune code is reused with a new meaning"
