"""The demo province as tables: ``generate_province(parcels, seed)`` → rows for every table.

``world.py`` draws the map; this module gives it the records a land office keeps:
administrative units before and after the 2025 merger, map sheets and parcel numbers,
land-use purposes, owners with ID numbers, rights, certificates, houses, mutations with
lineage, the land price tables, a land-use plan and two inventories.

The output is column-oriented (:class:`Table`) with surrogate keys already assigned from 1,
in the order the loader must COPY them (parents first). Geometries stay shapely objects
in the province CRS; the loader encodes them. Same seed, same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import shapely

from app.demo import names as N
from app.demo.world import SHEET_GRID, World, build_world
from app.domain.parcel_id import national_parcel_ids

MERGER_DAY = date(2025, 7, 1)  # the two-level administration starts (QĐ 19/2025/QĐ-TTg)
SURVEY_DAY = date(2000, 1, 1)
DEMO_USER = "landrec_demo"

PUBLIC_CODES = ("DGD", "DYT", "TSC", "NTD", "DVH", "DTT", "DCH")
COMMUNITY_CODES = ("TON", "TIN")
BUSINESS_CODES = ("SKC", "TMD")


@dataclass
class Table:
    """Rows of one database table, column by column (all columns have equal length)."""

    name: str
    columns: dict[str, list | np.ndarray] = field(default_factory=dict)
    geometry: tuple[str, ...] = ()  # columns holding shapely geometries

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def rows(self):
        return zip(*self.columns.values(), strict=True)


@dataclass
class DemoProvince:
    srid: int
    seed: int
    world: World
    tables: dict[str, Table]

    def summary(self) -> dict[str, int]:
        return {name: len(t) for name, t in self.tables.items()}


def days(rng, start: date, end: date, n: int) -> np.ndarray:
    """``n`` random dates in [start, end)."""
    span = (end - start).days
    offsets = rng.integers(0, max(span, 1), size=n)
    return np.array([start + timedelta(days=int(d)) for d in offsets], dtype=object)


def generate_province(parcels: int = 30_000, seed: int = 1, srid: int = 9212) -> DemoProvince:
    world = build_world(seed, parcels)
    rng = np.random.default_rng([seed, 2])
    b = Builder(world, rng, srid)
    b.admin_units()
    b.sheets_and_numbers()
    b.land_uses()
    b.parties_rights_certificates()
    b.mutations()
    b.prices()
    b.planning()
    b.inventory()
    b.documents()
    return DemoProvince(srid, seed, world, b.tables)


class Builder:
    """Fills ``tables`` step by step; later steps use what earlier ones decided."""

    def __init__(self, world: World, rng: np.random.Generator, srid: int) -> None:
        self.world = world
        self.rng = rng
        self.srid = srid
        self.tables: dict[str, Table] = {}
        p = world.parcels
        self.geom = np.array(p.geom, dtype=object)
        self.n = len(self.geom)
        self.cell = np.array(p.cell)
        self.kind = np.array(p.kind)
        self.residential = np.array(p.residential)
        self.segment = np.array(p.segment)
        self.position = np.array(p.position, dtype=object)
        self.row_id = np.array(p.row_id)
        self.order_in_row = np.array(p.order_in_row)
        self.rep = shapely.point_on_surface(self.geom)
        self.rep_xy = shapely.get_coordinates(self.rep)
        self.area = shapely.area(self.geom)

    def table(self, table_name: str, /, geometry: tuple[str, ...] = (), **columns) -> Table:
        t = Table(table_name, dict(columns), geometry)
        lengths = {len(v) for v in columns.values()}
        assert len(lengths) <= 1, f"{table_name}: columns of unequal length {lengths}"
        self.tables[table_name] = t
        return t

    # ----------------------------------------------------------------------------------
    # Administrative units

    def admin_units(self) -> None:
        rng, cells = self.rng, self.world.cells
        n_new = max(c.new_commune for c in cells) + 1
        cell_polys = [shapely.Polygon(c.corners) for c in cells]
        # Three new communes per old district; the real names first, then made-up ones.
        district_of_new = [g // 3 for g in range(n_new)]
        n_districts = max(district_of_new) + 1
        districts = list(N.DISTRICTS[:n_districts])
        spare_names = iter(N.generated_place_names(rng, set()))
        while len(districts) < n_districts:
            districts.append((f"{600 + len(districts):03d}", f"Huyện {next(spare_names)}", "huyen"))

        ids = iter(range(1, 10**9))
        unit_rows: list[tuple] = []  # id, level, code, name, kind, parent, from, to, geom
        province_id = next(ids)
        province_geom = shapely.union_all(cell_polys)
        unit_rows.append(
            (
                province_id,
                "province",
                N.PROVINCE_CODE,
                f"Tỉnh {N.PROVINCE_NAME}",
                "tỉnh",
                None,
                date(1997, 1, 1),
                None,
                province_geom,
            )
        )

        self.old_commune_id = np.zeros(len(cells), dtype=np.int64)
        self.old_commune_code = [""] * len(cells)
        self.old_commune_name = [""] * len(cells)
        self.old_commune_urban = np.array([c.urbanity > 0.6 for c in cells])
        self.district_code_of_cell = [""] * len(cells)
        self.district_name_of_cell = [""] * len(cells)
        self.new_commune_id = np.zeros(n_new, dtype=np.int64)
        self.new_commune_name = [""] * n_new
        self.new_commune_geom = [None] * n_new
        succession = []
        old_code_counter = 25000
        used_names: dict[str, int] = {}
        for d, (d_code, d_name, d_kind) in enumerate(districts):
            members = [g for g in range(n_new) if district_of_new[g] == d]
            d_cells = [c.index for c in cells if c.new_commune in members]
            d_id = next(ids)
            unit_rows.append(
                (
                    d_id,
                    "district",
                    d_code,
                    d_name,
                    DISTRICT_KIND[d_kind],
                    province_id,
                    date(1997, 1, 1),
                    MERGER_DAY,
                    shapely.union_all([cell_polys[i] for i in d_cells]),
                )
            )
            old_names = list(N.OLD_COMMUNES.get(d_code, ()))
            for i in d_cells:
                cell = cells[i]
                if old_names:
                    o_kind, o_name = old_names.pop(0)
                else:
                    o_kind, o_name = ("phuong" if cell.urbanity > 0.6 else "xa", next(spare_names))
                if cell.urbanity > 0.6 and o_kind == "xa":
                    o_kind = "phuong" if d_kind != "huyen" else "thi_tran"
                old_code_counter += 3
                code = f"{old_code_counter:05d}"
                full = f"{N.KIND_PREFIX[o_kind]} {o_name}"
                cid = next(ids)
                unit_rows.append(
                    (
                        cid,
                        "commune",
                        code,
                        full,
                        KIND_WORD[o_kind],
                        d_id,
                        SURVEY_DAY,
                        MERGER_DAY,
                        shapely.MultiPolygon([cell_polys[i]]),
                    )
                )
                self.old_commune_id[i] = cid
                self.old_commune_code[i] = code
                self.old_commune_name[i] = full
                self.district_code_of_cell[i] = d_code
                self.district_name_of_cell[i] = d_name
            phuong_names, xa_names = N.NEW_COMMUNES.get(d_code, ((), ()))
            phuong_names, xa_names = list(phuong_names), list(xa_names)
            for g in members:
                g_cells = [c.index for c in cells if c.new_commune == g]
                urban = np.mean([cells[i].urbanity for i in g_cells]) > 0.6
                pool = phuong_names if urban and phuong_names else xa_names
                base = pool.pop(0) if pool else next(spare_names)
                prefix = "Phường" if urban else "Xã"
                name = f"{prefix} {base}"
                if name in used_names:  # the same name elsewhere in the province
                    name = f"{prefix} {base} {used_names[name] + 1}"
                used_names[name] = used_names.get(name, 0) + 1
                # Codes of old communes are reused with new meanings: the first new commune
                # takes its first old commune's code (valid from the merger day on).
                first_old = self.old_commune_code[g_cells[0]]
                code = first_old if g == 0 else f"{27000 + 3 * g:05d}"
                geom = shapely.union_all([cell_polys[i] for i in g_cells])
                nid = next(ids)
                unit_rows.append(
                    (
                        nid,
                        "commune",
                        code,
                        name,
                        "phường" if urban else "xã",
                        province_id,
                        MERGER_DAY,
                        None,
                        as_multi(geom),
                    )
                )
                self.new_commune_id[g] = nid
                self.new_commune_name[g] = name
                self.new_commune_geom[g] = geom
                for i in g_cells:
                    succession.append((int(self.old_commune_id[i]), nid))

        cols = list(zip(*unit_rows, strict=True))
        self.table(
            "ref.admin_unit",
            geometry=("geom",),
            id=cols[0],
            level=cols[1],
            code=cols[2],
            name=cols[3],
            kind=cols[4],
            parent_id=cols[5],
            valid_from=cols[6],
            valid_to=cols[7],
            geom=[as_multi(g) for g in cols[8]],
        )
        self.table(
            "ref.admin_unit_succession",
            predecessor_id=[s[0] for s in succession],
            successor_id=[s[1] for s in succession],
            effective_on=[MERGER_DAY] * len(succession),
            legal_basis=["Nghị quyết của Ủy ban Thường vụ Quốc hội về sắp xếp ĐVHC cấp xã 2025"]
            * len(succession),
        )
        self.parcel_new_commune = np.array([cells[i].new_commune for i in self.cell])
        self.province_id = province_id

    # ----------------------------------------------------------------------------------
    # Map sheets and parcel numbers

    def sheets_and_numbers(self) -> None:
        rng = self.rng
        x, y = self.rep_xy[:, 0], self.rep_xy[:, 1]
        urban = self.old_commune_urban[self.cell]
        # Towns are surveyed at 1:1000 (500 m frames), the countryside at 1:2000 (1 km).
        size = np.where(urban, SHEET_GRID, 2 * SHEET_GRID)
        gx = np.floor(x / size).astype(np.int64)
        gy = np.floor(y / size).astype(np.int64)
        keys = np.stack([self.cell, gx, gy, size.astype(np.int64)], axis=1)
        uniq, sheet_of = np.unique(keys, axis=0, return_inverse=True)
        sheet_of = sheet_of.ravel()
        # Number sheets per old commune from north-west to south-east.
        order = np.lexsort((uniq[:, 1], -uniq[:, 2], uniq[:, 0]))
        number = np.zeros(len(uniq), dtype=np.int64)
        for cell in np.unique(uniq[:, 0]):
            in_cell = order[uniq[order, 0] == cell]
            number[in_cell] = np.arange(1, len(in_cell) + 1)
        frames = shapely.box(
            uniq[:, 1] * uniq[:, 3],
            uniq[:, 2] * uniq[:, 3],
            (uniq[:, 1] + 1) * uniq[:, 3],
            (uniq[:, 2] + 1) * uniq[:, 3],
        )
        scale = np.where(uniq[:, 3] == SHEET_GRID, 1000, 2000)
        self.table(
            "cad.map_sheet",
            geometry=("frame",),
            id=np.arange(1, len(uniq) + 1),
            commune_id=self.old_commune_id[uniq[:, 0]],
            sheet_number=number,
            scale=scale,
            frame=frames,
            source_srid=np.full(len(uniq), self.srid),
            survey_year=rng.integers(2003, 2019, size=len(uniq)),
        )
        self.sheet_of = sheet_of
        self.sheet_number = number
        self.sheet_scale = scale

        # Parcels are numbered per sheet in rows from the top, left to right.
        band = np.floor(y / 40.0)
        order = np.lexsort((x, -band, sheet_of))
        parcel_number = np.zeros(self.n, dtype=np.int64)
        starts = np.r_[0, np.nonzero(np.diff(sheet_of[order]))[0] + 1]
        counts = np.diff(np.r_[starts, self.n])
        parcel_number[order] = np.arange(self.n) - np.repeat(starts, counts) + 1
        # About 0.2 % carry the number of the parcel before them, as real sheets do.
        dup_seq = np.zeros(self.n, dtype=np.int64)
        candidates = np.nonzero(parcel_number[order] > 1)[0]
        pick = rng.choice(candidates, size=max(1, self.n // 500), replace=False)
        pick = np.sort(pick)
        pick = pick[np.r_[True, np.diff(pick) > 1]]  # never two in a row
        for pos in pick:
            me, before = order[pos], order[pos - 1]
            parcel_number[me] = parcel_number[before]
            dup_seq[me] = dup_seq[before] + 1
        self.parcel_number = parcel_number
        self.dup_seq = dup_seq

    # ----------------------------------------------------------------------------------
    # Land-use purposes

    def land_uses(self) -> None:
        rng, n = self.rng, self.n
        urban_commune = self.old_commune_urban[self.cell]
        code = np.empty(n, dtype="U3")
        code[self.kind == "road"] = "DGT"
        code[self.kind == "river"] = "SON"
        res = self.residential
        code[res] = np.where(urban_commune[res], "ODT", "ONT")
        near_river = shapely.dwithin(self.rep, self.world.river, 700.0)
        edge = np.isin(
            np.array([self.world.cells[c].row for c in self.cell]),
            [0, self.world.n_rows - 1],
        )
        land = (~res) & np.isin(self.kind, ["front", "rear", "inner"])
        draw = rng.random(n)
        front = land & (self.kind != "inner")
        # Along roads: perennial and annual crops, and now and then public land.
        code[front] = np.select(
            [draw[front] < 0.45, draw[front] < 0.78, draw[front] < 0.84, draw[front] < 0.88],
            ["CLN", "HNK", "LUC", "NTS"],
            default="PUB",
        )
        inner = land & (self.kind == "inner")
        rice = np.where(near_river[inner], 0.45, 0.12)
        forest = np.where(edge[inner], 0.25, 0.02)
        d = draw[inner]
        code[inner] = np.select(
            [d < rice, d < rice + forest, d < rice + forest + 0.05, d < rice + forest + 0.25],
            ["LUC", "RSX", "NTS", "HNK"],
            default="CLN",
        )
        public = code == "PUB"
        kinds = np.array([*PUBLIC_CODES, *COMMUNITY_CODES, *BUSINESS_CODES])
        weights = np.array([3, 1, 1.5, 2, 1, 1, 1, 1.5, 1, 1.2, 1.8])
        code[public] = kinds[rng.choice(len(kinds), size=public.sum(), p=weights / weights.sum())]
        self.code = code

        # Legal area: what the certificate says, off the computed area by up to ±3 %.
        legal = self.area * (1 + np.clip(rng.normal(0, 0.008, n), -0.03, 0.03))
        legal = np.where(np.isin(code, ["DGT", "SON"]), self.area, legal)
        self.area_legal = np.round(legal, 1)

        use_from = days(rng, date(1993, 10, 15), date(2024, 12, 31), n)
        self.use_from = use_from
        agricultural = np.isin(code, ["CLN", "HNK", "LUC", "NTS", "RSX"])
        # Rural homes: 200–400 m² of residential land, the rest perennial garden.
        split = (code == "ONT") & (self.area_legal > 450) & (rng.random(n) < 0.7)
        res_part = np.round(rng.uniform(200, 400, n) / 10) * 10
        parcel_ids = np.arange(1, n + 1)
        lu_parcel = np.concatenate([parcel_ids, parcel_ids[split]])
        lu_code = np.concatenate([code, np.full(split.sum(), "CLN")])
        lu_area = np.concatenate(
            [np.where(split, res_part, self.area_legal), self.area_legal[split] - res_part[split]]
        )
        term = np.array(
            [
                date(f.year + 50, f.month, min(f.day, 28)) if ag else None
                for f, ag in zip(use_from, agricultural, strict=True)
            ],
            dtype=object,
        )
        lu_term = np.concatenate([term, np.array([None] * split.sum(), dtype=object)])
        origin = np.array(ORIGINS, dtype=object)[rng.integers(0, len(ORIGINS), n)]
        origin[np.isin(code, ["DGT", "SON", *PUBLIC_CODES])] = "Nhà nước giao đất không thu tiền"
        lu_origin = np.concatenate([origin, origin[split]])
        lu_from = np.concatenate([use_from, use_from[split]])
        self.table(
            "cad.land_use",
            id=np.arange(1, len(lu_parcel) + 1),
            parcel_id=lu_parcel,
            code=lu_code,
            area=np.round(lu_area, 1),
            term_until=lu_term,
            use_from=lu_from,
            origin=lu_origin,
            retired_at=[None] * len(lu_parcel),
        )

    # ----------------------------------------------------------------------------------
    # Addresses, parcels

    def addresses(self) -> np.ndarray:
        rng = self.rng
        roads, segments = self.world.roads, self.world.segments
        hamlet = np.array(N.NAMED_HAMLETS, dtype=object)
        # A hamlet (ấp) or quarter (khu phố) per 500 m of a commune.
        zone = (np.floor(self.rep_xy[:, 0] / 500) * 7 + np.floor(self.rep_xy[:, 1] / 500)).astype(
            np.int64
        )
        house = rng.integers(1, 400, self.n)
        out = np.empty(self.n, dtype=object)
        for i in range(self.n):
            commune = self.new_commune_name[self.parcel_new_commune[i]]
            if self.code[i] == "ODT" and self.segment[i] >= 0:
                road = roads[segments[self.segment[i]].road].name
                out[i] = f"Số {house[i]}, {road}, Khu phố {zone[i] % 9 + 1}, {commune}"
            else:
                out[i] = f"Ấp {hamlet[zone[i] % len(hamlet)]}, {commune}"
        return out

    # ----------------------------------------------------------------------------------
    # People, organisations, rights, certificates, houses

    def parties_rights_certificates(self) -> None:
        rng, n = self.rng, self.n
        code = self.code
        parties = PartyBook(rng)
        commune_ubnd = [
            parties.organisation(f"UBND {name[0].lower()}{name[1:]}", self.province_tax(rng))
            for name in self.new_commune_name
        ]
        managed = np.isin(code, ["DGT", "SON", *PUBLIC_CODES])
        community = np.isin(code, COMMUNITY_CODES)
        business = np.isin(code, BUSINESS_CODES)
        private = ~(managed | community | business)

        holder_party: list[list[int]] = [[] for _ in range(n)]
        holder_share: list[list[float]] = [[] for _ in range(n)]
        right_kind = np.where(managed, "quan_ly", "su_dung")
        for i in np.nonzero(managed)[0]:
            holder_party[i] = [commune_ubnd[self.parcel_new_commune[i]]]
            holder_share[i] = [1.0]
        for i in np.nonzero(community)[0]:
            kind = N.RELIGIOUS if code[i] == "TON" else N.BELIEF
            label = kind[int(rng.integers(len(kind)))]
            place = N.NAMED_HAMLETS[int(rng.integers(len(N.NAMED_HAMLETS)))]
            holder_party[i] = [parties.community(f"{label} {place}")]
            holder_share[i] = [1.0]
        for i in np.nonzero(business)[0]:
            holder_party[i] = [parties.company(self.province_tax(rng))]
            holder_share[i] = [1.0]

        # Private land: ~0.7 owners per parcel; every owner holds at least one parcel.
        idx = np.nonzero(private)[0]
        n_owners = max(1, int(len(idx) * 0.7))
        owner_of = np.empty(len(idx), dtype=np.int64)
        first = rng.permutation(len(idx))
        owner_of[first[:n_owners]] = np.arange(n_owners)
        owner_of[first[n_owners:]] = rng.integers(0, n_owners, len(idx) - n_owners)
        owner_kind = rng.choice(
            ["ca_nhan", "vo_chong", "ho_gia_dinh", "to_chuc"],
            size=n_owners,
            p=[0.4, 0.41, 0.16, 0.03],
        )
        owner_party = parties.owners(owner_kind, self.province_tax)
        co_owned = rng.random(len(idx)) < 0.04
        for k, i in enumerate(idx):
            owner = int(owner_party[owner_of[k]])
            if co_owned[k] and owner_kind[owner_of[k]] == "ca_nhan":
                extra = parties.people(int(rng.integers(1, 3)))
                members = [owner, *extra]
                share = round(1 / len(members), 6)
                shares = [share] * (len(members) - 1)
                holder_party[i] = members
                holder_share[i] = [*shares, round(1 - sum(shares), 6)]
            else:
                holder_party[i] = [owner]
                holder_share[i] = [1.0]
        self.holder_party = holder_party

        # Certificates for 85 % of private and business parcels; owners with two parcels
        # sometimes hold one certificate for both.
        certified = (private | business | community) & (rng.random(n) < 0.85)
        certified_idx = np.nonzero(certified)[0]
        cert_of = np.full(n, -1, dtype=np.int64)
        by_owner: dict[int, int] = {}
        cert_parcels: list[list[int]] = []
        for i in certified_idx:
            owner = holder_party[i][0]
            if owner in by_owner and len(cert_parcels[by_owner[owner]]) == 1 and rng.random() < 0.3:
                c = by_owner[owner]
                cert_parcels[c].append(int(i))
            else:
                c = len(cert_parcels)
                cert_parcels.append([int(i)])
                by_owner[owner] = c
            cert_of[i] = c
        n_cert = len(cert_parcels)
        issued = np.array(
            [
                max(self.use_from[p[0]], date(1995, 1, 1))
                + timedelta(days=int(rng.integers(30, 900)))
                for p in cert_parcels
            ],
            dtype=object,
        )
        issued = np.array([min(d, date(2025, 11, 1)) for d in issued], dtype=object)
        letters = np.array(SERIES, dtype=object)[rng.integers(0, len(SERIES), n_cert)]
        serial = np.array([f"{s} {100000 + k:06d}" for k, s in enumerate(letters)], dtype=object)
        register, issuer = [], []
        for k, parcels_k in enumerate(cert_parcels):
            p = parcels_k[0]
            org = business[p] or community[p]
            register.append(f"{'CS' if org else 'CH'}{k + 1:05d}")
            if issued[k] >= MERGER_DAY:
                issuer.append(f"Sở Nông nghiệp và Môi trường tỉnh {N.PROVINCE_NAME}")
            elif org:
                issuer.append(f"Sở Tài nguyên và Môi trường tỉnh {N.PROVINCE_NAME}")
            else:
                issuer.append(f"UBND {self.district_name_of_cell[self.cell[p]]}")
        self.table(
            "cad.certificate",
            id=np.arange(1, n_cert + 1),
            serial=serial,
            register_number=register,
            issued_on=issued,
            issuer=issuer,
            status=["hieu_luc"] * n_cert,
            replaced_by=[None] * n_cert,
        )
        self.table(
            "cad.certificate_parcel",
            certificate_id=[k + 1 for k, ps in enumerate(cert_parcels) for _ in ps],
            parcel_id=[p + 1 for ps in cert_parcels for p in ps],
        )
        self.cert_parcels = cert_parcels
        self.cert_serial = serial
        self.cert_issued = issued

        r_parcel, r_party, r_kind, r_share, r_cert, r_from = [], [], [], [], [], []
        for i in range(n):
            start = self.use_from[i]
            for party, share in zip(holder_party[i], holder_share[i], strict=True):
                r_parcel.append(i + 1)
                r_party.append(party)
                r_kind.append(right_kind[i])
                r_share.append(share)
                r_cert.append(int(cert_of[i]) + 1 if cert_of[i] >= 0 else None)
                r_from.append(start)
        self.table(
            "cad.land_right",
            id=np.arange(1, len(r_parcel) + 1),
            parcel_id=r_parcel,
            party_id=r_party,
            kind=r_kind,
            share=r_share,
            certificate_id=r_cert,
            valid_from=r_from,
            valid_to=[None] * len(r_parcel),
        )

        # Houses on most residential parcels.
        homes = np.nonzero(np.isin(code, ["ODT", "ONT"]) & (rng.random(n) < 0.65))[0]
        floors = np.where(
            np.isin(code[homes], ["ODT"]),
            rng.integers(1, 5, len(homes)),
            rng.integers(1, 3, len(homes)),
        )
        footprint = np.minimum(self.area[homes] * 0.7, rng.uniform(45, 180, len(homes)))
        self.table(
            "cad.asset",
            id=np.arange(1, len(homes) + 1),
            parcel_id=homes + 1,
            kind=["nha_o"] * len(homes),
            description=[f"Nhà ở {f} tầng" for f in floors],
            floor_area=np.round(footprint * floors, 1),
            floors=floors,
            owner_id=[holder_party[i][0] for i in homes],
        )

        # Restrictions: road safety corridors along main roads, a few disputes.
        corridor = np.nonzero((self.position == "VT1") & (rng.random(n) < 0.05))[0]
        dispute = np.nonzero(private & (rng.random(n) < 0.001))[0]
        r_idx = np.concatenate([corridor, dispute])
        self.table(
            "cad.restriction",
            id=np.arange(1, len(r_idx) + 1),
            parcel_id=r_idx + 1,
            kind=["hanh_lang"] * len(corridor) + ["tranh_chap"] * len(dispute),
            description=["Hành lang an toàn đường bộ"] * len(corridor)
            + ["Tranh chấp ranh giới với thửa liền kề, đang hòa giải tại UBND xã"] * len(dispute),
            valid_from=days(rng, date(2015, 1, 1), date(2025, 10, 1), len(r_idx)),
            valid_to=[None] * len(r_idx),
        )
        self.tables.update(parties.tables())

    @staticmethod
    def province_tax(rng) -> str:
        """A 10-digit tax code of an organisation registered in Bình Phước (38…)."""
        return f"38{int(rng.integers(0, 10**8)):08d}"

    # ----------------------------------------------------------------------------------
    # Mutations: splits and merges with lineage, transfers and mortgages

    def mutations(self) -> None:
        rng, n = self.rng, self.n
        ring_len = shapely.get_num_coordinates(self.geom)
        eligible = (self.kind == "front") & self.residential & (ring_len == 7) & (self.dup_seq == 0)
        # Splits: 2–3 neighbours in a row were one parcel before.
        n_splits = max(3, n // 150)
        n_merges = max(2, n // 300)
        start_order = np.nonzero(eligible)[0]
        rng.shuffle(start_order)
        taken = np.zeros(n, dtype=bool)
        # Parcels of a row are consecutive in the arrays (world.py appends them in order).
        split_groups = []
        for i in start_order:
            if len(split_groups) >= n_splits:
                break
            size = int(rng.integers(2, 4))
            group = list(range(i, i + size))
            if group[-1] >= n or taken[group].any():
                continue
            same_row = (self.row_id[group] == self.row_id[i]).all()
            same_sheet = (self.sheet_of[group] == self.sheet_of[i]).all()
            if not (same_row and same_sheet and eligible[group].all()):
                continue
            parent = shapely.union_all(self.geom[group])
            if parent.geom_type != "Polygon" or not parent.is_valid:
                continue
            taken[group] = True
            split_groups.append((group, parent))
        merge_children = []
        for i in start_order:
            if len(merge_children) >= n_merges:
                break
            if taken[i] or self.area[i] < 150:
                continue
            halves = halve(self.geom[i])
            if halves is None:
                continue
            taken[i] = True
            merge_children.append((int(i), halves))

        parents_geom, parents_sheet, parents_number, parents_commune, parents_code = (
            [],
            [],
            [],
            [],
            [],
        )
        parents_retired, lineage, mutation_rows = [], [], []
        sheet_max = np.zeros(len(self.sheet_number), dtype=np.int64)
        np.maximum.at(sheet_max, self.sheet_of, self.parcel_number)
        next_parent_id = n + 1
        decided = days(
            rng, date(2016, 1, 1), date(2025, 11, 1), len(split_groups) + len(merge_children)
        )
        k = 0
        for group, parent in split_groups:
            m_id = len(mutation_rows) + 1
            when = decided[k]
            k += 1
            mutation_rows.append(
                ("tach_thua", "da_duyet", SPLIT_REASONS[k % len(SPLIT_REASONS)], when)
            )
            parents_geom.append(parent)
            parents_sheet.append(self.sheet_of[group[0]])
            parents_number.append(self.parcel_number[group[0]])
            parents_commune.append(self.parcel_new_commune[group[0]])
            parents_code.append(self.code[group[0]])
            parents_retired.append(when)
            for child in group:
                lineage.append((m_id, next_parent_id, child + 1))
            next_parent_id += 1
        for child, halves in merge_children:
            m_id = len(mutation_rows) + 1
            when = decided[k]
            k += 1
            mutation_rows.append(
                ("hop_thua", "da_duyet", "Hợp thửa theo đề nghị của chủ sử dụng", when)
            )
            sheet = self.sheet_of[child]
            for j, half in enumerate(halves):
                parents_geom.append(half)
                parents_sheet.append(sheet)
                if j == 0:
                    parents_number.append(self.parcel_number[child])
                else:
                    sheet_max[sheet] += 1
                    parents_number.append(sheet_max[sheet])
                parents_commune.append(self.parcel_new_commune[child])
                parents_code.append(self.code[child])
                parents_retired.append(when)
                lineage.append((m_id, next_parent_id, child + 1))
                next_parent_id += 1
        self.parents = dict(
            geom=np.array(parents_geom, dtype=object),
            sheet=np.array(parents_sheet, dtype=np.int64),
            number=np.array(parents_number, dtype=np.int64),
            commune=np.array(parents_commune, dtype=np.int64),
            code=np.array(parents_code),
            retired=parents_retired,
        )

        # Transfers and mortgages: no change to the map.
        touched: list[tuple[int, int]] = []
        private = np.nonzero(np.isin(self.code, ["ONT", "ODT", "CLN", "HNK", "LUC"]))[0]
        for kind, count, reason in (
            ("chuyen_quyen", max(3, n // 100), "Chuyển nhượng quyền sử dụng đất"),
            ("the_chap", max(2, n // 200), "Thế chấp quyền sử dụng đất tại ngân hàng"),
            ("xoa_the_chap", max(1, n // 400), "Xóa đăng ký thế chấp"),
        ):
            for i in rng.choice(private, size=min(count, len(private)), replace=False):
                mutation_rows.append(
                    (kind, "da_duyet", reason, days(rng, date(2016, 1, 1), date(2025, 11, 1), 1)[0])
                )
                touched.append((len(mutation_rows), int(i) + 1))
        # A few dossiers still in progress: drafted or submitted, not yet official.
        for status in ("nhap", "nhap", "da_nop", "da_nop", "da_nop"):
            i = int(rng.choice(private))
            mutation_rows.append(
                (
                    "chuyen_muc_dich",
                    status,
                    "Chuyển mục đích từ đất trồng cây lâu năm sang đất ở",
                    None,
                )
            )
            touched.append((len(mutation_rows), i + 1))

        m = len(mutation_rows)
        decided_at = [r[3] for r in mutation_rows]
        self.table(
            "cad.mutation",
            id=np.arange(1, m + 1),
            kind=[r[0] for r in mutation_rows],
            status=[r[1] for r in mutation_rows],
            reason=[r[2] for r in mutation_rows],
            dossier_number=[
                f"HS-{(d or date(2025, 11, 20)).year}-{k + 1:06d}" for k, d in enumerate(decided_at)
            ],
            created_by=[DEMO_USER] * m,
            created_at=[(d or date(2025, 11, 20)) - timedelta(days=20) for d in decided_at],
            decided_by=[DEMO_USER if d else None for d in decided_at],
            decided_at=decided_at,
        )
        self.table(
            "cad.mutation_parcel",
            mutation_id=[t[0] for t in touched],
            parcel_id=[t[1] for t in touched],
        )
        self.table(
            "cad.parcel_lineage",
            mutation_id=[r[0] for r in lineage],
            parent_id=[r[1] for r in lineage],
            child_id=[r[2] for r in lineage],
        )
        self.parcels_table()

    def parcels_table(self) -> None:
        """cad.parcel: current parcels (ids 1…n), then the retired parents of mutations."""
        rng, n = self.rng, self.n
        par = self.parents
        n_par = len(par["geom"])
        geom = np.concatenate([self.geom, par["geom"]])
        self.table(
            "cad.parcel",
            geometry=("geom",),
            id=np.arange(1, n + n_par + 1),
            sheet_id=np.concatenate([self.sheet_of, par["sheet"]]) + 1,
            parcel_number=np.concatenate([self.parcel_number, par["number"]]),
            duplicate_seq=np.concatenate([self.dup_seq, np.zeros(n_par, dtype=np.int64)]),
            commune_id=self.new_commune_id[
                np.concatenate([self.parcel_new_commune, par["commune"]])
            ],
            national_id=national_parcel_ids(geom, self.srid),
            geom=shapely.multipolygons(geom, indices=np.arange(len(geom))),
            area_legal=np.concatenate([self.area_legal, np.round(shapely.area(par["geom"]), 1)]),
            address=np.concatenate([self.addresses(), np.array([None] * n_par, dtype=object)]),
            created_at=np.concatenate(
                [self.use_from, np.array([date(2005, 1, 1)] * n_par, dtype=object)]
            ),
            retired_at=[None] * n + list(par["retired"]),
            version=np.ones(n + n_par, dtype=np.int64),
        )
        # Retired parents keep their land-use rows, retired with them.
        lu = self.tables["cad.land_use"]
        base = len(lu)
        lu.columns["id"] = np.concatenate([lu.columns["id"], base + np.arange(1, n_par + 1)])
        lu.columns["parcel_id"] = np.concatenate(
            [lu.columns["parcel_id"], n + np.arange(1, n_par + 1)]
        )
        lu.columns["code"] = np.concatenate([lu.columns["code"], par["code"]])
        lu.columns["area"] = np.concatenate(
            [lu.columns["area"], np.round(shapely.area(par["geom"]), 1)]
        )
        for col, value in (
            ("term_until", None),
            ("use_from", date(2005, 1, 1)),
            ("origin", ORIGINS[0]),
        ):
            lu.columns[col] = np.concatenate(
                [lu.columns[col], np.array([value] * n_par, dtype=object)]
            )
        lu.columns["retired_at"] = list(lu.columns["retired_at"]) + list(par["retired"])

        # Keys from the 1985 "299" survey for a quarter of the parcels.
        old = np.nonzero(rng.random(n) < 0.25)[0]
        self.table(
            "cad.parcel_old_key",
            parcel_id=old + 1,
            commune_code=[self.old_commune_code[self.cell[i]] for i in old],
            district_code=[self.district_code_of_cell[self.cell[i]] for i in old],
            sheet_number=rng.integers(1, 40, len(old)),
            parcel_number=np.arange(1, len(old) + 1),  # distinct: the old survey's own keys
            source=["Bản đồ 299"] * len(old),
        )

    # ----------------------------------------------------------------------------------
    # Land price

    def prices(self) -> None:
        rng = self.rng
        roads, segments = self.world.roads, self.world.segments
        road_class = [ROAD_CLASS(r) for r in roads]
        self.table(
            "price.road",
            id=np.arange(1, len(roads) + 1),
            name=[r.name for r in roads],
            road_class=road_class,
        )
        seg_cell = np.array([s.cell for s in segments])
        self.table(
            "price.road_segment",
            geometry=("geom",),
            id=np.arange(1, len(segments) + 1),
            road_id=[s.road + 1 for s in segments],
            commune_id=self.new_commune_id[[self.world.cells[c].new_commune for c in seg_cell]],
            from_desc=[s.from_desc for s in segments],
            to_desc=[s.to_desc for s in segments],
            geom=[s.geom for s in segments],
        )
        self.table(
            "price.price_table",
            id=[1, 2],
            year=[2020, 2025],
            decision=["Quyết định số 40/2019/QĐ-UBND", "Quyết định số 30/2024/QĐ-UBND"],
            valid_from=[date(2020, 1, 1), date(2025, 1, 1)],
            valid_to=[date(2025, 1, 1), None],
        )
        bands = [(0, 20, 1.0), (20, 40, 0.6), (40, 60, 0.36), (60, None, 0.216)]
        self.table(
            "price.depth_band",
            table_id=[t for t in (1, 2) for _ in bands],
            from_m=[b[0] for _ in (1, 2) for b in bands],
            to_m=[b[1] for _ in (1, 2) for b in bands],
            factor=[b[2] for _ in (1, 2) for b in bands],
        )
        # Segment prices: VT1 by road class and town, deeper positions a fixed share of it.
        urban = self.old_commune_urban[seg_cell]
        cls = np.array([roads[s.road].road_class for s in segments])
        vt1 = np.where(
            urban, rng.uniform(6e6, 22e6, len(segments)), rng.uniform(1.2e6, 4.5e6, len(segments))
        )
        vt1 *= np.select([cls == "main", cls == "branch"], [1.0, 0.55], default=0.35)
        growth = rng.uniform(1.5, 3.0, len(segments))
        rows = []
        for s in range(len(segments)):
            land = "ODT" if urban[s] else "ONT"
            for t, factor in ((1, 1.0), (2, growth[s])):
                for k, share in enumerate((1.0, 0.6, 0.4, 0.3)):
                    price = round(vt1[s] * factor * share, -3)
                    rows.append((t, s + 1, land, f"VT{k + 1}", price))
        cols = list(zip(*rows, strict=True))
        self.table(
            "price.segment_price",
            table_id=cols[0],
            segment_id=cols[1],
            land_use_code=cols[2],
            position=cols[3],
            price_vnd_m2=cols[4],
        )

        # Agricultural zones: each new commune in 2–3 bands from west to east.
        zone_geom, zone_commune, zone_name, zone_factor = [], [], [], []
        for g, geom in enumerate(self.new_commune_geom):
            minx, miny, maxx, maxy = geom.bounds
            k = int(rng.integers(2, 4))
            cuts = np.linspace(minx, maxx, k + 1)
            for j in range(k):
                piece = shapely.intersection(geom, shapely.box(cuts[j], miny, cuts[j + 1], maxy))
                piece = shapely.MultiPolygon(
                    [p for p in shapely.get_parts(piece) if p.geom_type == "Polygon"]
                )
                zone_geom.append(piece)
                zone_commune.append(self.new_commune_id[g])
                zone_name.append(f"Khu vực {j + 1}")
                zone_factor.append((1.0, 0.8, 0.65)[j])
        self.table(
            "price.zone",
            geometry=("geom",),
            id=np.arange(1, len(zone_geom) + 1),
            commune_id=zone_commune,
            name=zone_name,
            geom=zone_geom,
        )
        base = {"LUC": 70_000, "HNK": 85_000, "CLN": 120_000, "NTS": 75_000, "RSX": 30_000}
        z_rows = []
        for z in range(len(zone_geom)):
            for t, factor in ((1, 1.0), (2, rng.uniform(1.4, 2.2))):
                for code, price in base.items():
                    z_rows.append((t, z + 1, code, round(price * zone_factor[z] * factor, -3)))
        cols = list(zip(*z_rows, strict=True))
        self.table(
            "price.zone_price",
            table_id=cols[0],
            zone_id=cols[1],
            land_use_code=cols[2],
            price_vnd_m2=cols[3],
        )

        # Where each parcel stands in the 2025 table.
        tree = shapely.STRtree(np.array(zone_geom, dtype=object))
        hit_parcel, hit_zone = tree.query(self.rep, predicate="within")
        zone_of = np.full(self.n, -1, dtype=np.int64)
        zone_of[hit_parcel] = hit_zone
        priced = (self.position != None) | np.isin(self.code, list(base))  # noqa: E711
        idx = np.nonzero(priced & ((self.segment >= 0) | (zone_of >= 0)))[0]
        by_segment = np.array([self.position[i] is not None and self.segment[i] >= 0 for i in idx])
        self.table(
            "price.parcel_position",
            parcel_id=idx + 1,
            table_id=np.full(len(idx), 2),
            segment_id=[
                int(self.segment[i]) + 1 if s else None
                for i, s in zip(idx, by_segment, strict=True)
            ],
            zone_id=[
                None if s else int(zone_of[i]) + 1 for i, s in zip(idx, by_segment, strict=True)
            ],
            position=[
                self.position[i] if s else None for i, s in zip(idx, by_segment, strict=True)
            ],
            coefficient=np.round(
                np.where(rng.random(len(idx)) < 0.2, rng.uniform(1.05, 1.3, len(idx)), 1.0), 3
            ),
        )

    # ----------------------------------------------------------------------------------
    # Land-use planning: zones that cut across parcels

    def planning(self) -> None:
        rng = self.rng
        self.table(
            "plan.land_use_plan",
            id=[1],
            kind=["quy_hoach"],
            level=["province"],
            name=[f"Quy hoạch sử dụng đất tỉnh {N.PROVINCE_NAME} thời kỳ 2021–2030"],
            period_from=[2021],
            period_to=[2030],
            decision=["Quyết định số 1489/QĐ-TTg"],
            approved_on=[date(2023, 11, 24)],
        )
        purposes = (
            ("ODT", "Khu dân cư mới"),
            ("SKC", "Cụm công nghiệp"),
            ("DKV", "Công viên cây xanh"),
            ("DGD", "Trường học"),
            ("TMD", "Khu thương mại dịch vụ"),
            ("DGT", "Mở rộng đường"),
        )
        z_geom, z_code, z_commune, z_name = [], [], [], []
        for g, commune in enumerate(self.new_commune_geom):
            taken = shapely.Polygon()
            minx, miny, maxx, maxy = commune.bounds
            for _ in range(int(rng.integers(3, 7))):
                code, label = purposes[int(rng.integers(len(purposes)))]
                cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                w, h = rng.uniform(150, 600), rng.uniform(100, 400)
                shape = shapely.affinity.rotate(
                    shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                    rng.uniform(-40, 40),
                )
                piece = shapely.difference(shapely.intersection(shape, commune), taken)
                parts = [
                    p for p in shapely.get_parts(piece) if p.geom_type == "Polygon" and p.area > 500
                ]
                if not parts:
                    continue
                zone = shapely.MultiPolygon(parts)
                taken = shapely.union(taken, zone)
                z_geom.append(zone)
                z_code.append(code)
                z_commune.append(self.new_commune_id[g])
                z_name.append(f"{label} {self.new_commune_name[g]}")
        self.table(
            "plan.zone",
            geometry=("geom",),
            id=np.arange(1, len(z_geom) + 1),
            plan_id=np.ones(len(z_geom), dtype=np.int64),
            planned_code=z_code,
            commune_id=z_commune,
            name=z_name,
            geom=z_geom,
        )

    # ----------------------------------------------------------------------------------
    # Inventory: 2019 and 2024, per old commune and for the province

    def inventory(self) -> None:
        rng = self.rng
        self.table(
            "inv.period",
            id=[1, 2],
            kind=["kiem_ke", "kiem_ke"],
            year=[2019, 2024],
            reference_date=[date(2019, 12, 31), date(2024, 12, 31)],
            decision=["Quyết định số 1762/QĐ-BTNMT", "Quyết định số 2412/QĐ-UBND"],
        )
        codes, code_index = np.unique(self.code, return_inverse=True)
        n_cells = len(self.world.cells)
        # Hectares per (old commune, code) in one pass over the parcels.
        area = np.zeros((n_cells, len(codes)))
        np.add.at(area, (self.cell, code_index.ravel()), self.area / 10_000)
        # Five years earlier: a little more farmland, a little less housing.
        drift_of = {"ONT": 0.93, "ODT": 0.9, "CLN": 1.03, "HNK": 1.02}
        drift = np.array([drift_of.get(c, 1.0) for c in codes])
        earlier = area * drift * rng.uniform(0.98, 1.02, area.shape)
        rows = []
        for period, values in ((1, earlier), (2, area)):
            for cell, k in zip(*np.nonzero(area), strict=True):
                unit = int(self.old_commune_id[cell])
                rows.append((period, unit, str(codes[k]), round(float(values[cell, k]), 4)))
            for k in range(len(codes)):
                total = round(float(values[:, k].sum()), 4)
                rows.append((period, self.province_id, str(codes[k]), total))
        cols = list(zip(*rows, strict=True))
        self.table(
            "inv.result", period_id=cols[0], unit_id=cols[1], land_use_code=cols[2], area_ha=cols[3]
        )

    # ----------------------------------------------------------------------------------
    # Scanned documents (metadata only)

    def documents(self) -> None:
        rng = self.rng
        scanned = np.nonzero(rng.random(len(self.cert_parcels)) < 0.2)[0]
        d_rows, links = [], []
        for k in scanned:
            p = self.cert_parcels[k][0]
            sheet = self.sheet_number[self.sheet_of[p]]
            commune = self.old_commune_code[self.cell[p]]
            d_id = len(d_rows) + 1
            d_rows.append(
                (
                    "giay_chung_nhan",
                    self.cert_serial[k],
                    self.cert_issued[k],
                    int(rng.integers(2, 5)),
                    f"{commune}_{sheet}_{self.parcel_number[p]}_GCN.pdf",
                )
            )
            links.append((d_id, p + 1, None, None))
            links.append((d_id, None, int(k) + 1, None))
        mutations = self.tables["cad.mutation"]
        for m_id, kind, status in zip(
            mutations.columns["id"],
            mutations.columns["kind"],
            mutations.columns["status"],
            strict=True,
        ):
            if kind in ("tach_thua", "hop_thua") and status == "da_duyet":
                d_id = len(d_rows) + 1
                d_rows.append(
                    ("quyet_dinh", f"{int(m_id)}/QĐ-VPĐK", None, 1, f"QD_bien_dong_{int(m_id)}.pdf")
                )
                links.append((d_id, None, None, int(m_id)))
        cols = list(zip(*d_rows, strict=True))
        nd = len(d_rows)
        self.table(
            "doc.document",
            id=np.arange(1, nd + 1),
            doc_type=cols[0],
            number=cols[1],
            issued_on=cols[2],
            issuer=[None] * nd,
            page_count=cols[3],
            classification=["noi_bo"] * nd,
            sha256=[None] * nd,
            byte_size=[None] * nd,
            media_type=["application/pdf"] * nd,
            original_name=cols[4],
        )
        lcols = list(zip(*links, strict=True))
        self.table(
            "doc.document_link",
            document_id=lcols[0],
            parcel_id=lcols[1],
            certificate_id=lcols[2],
            mutation_id=lcols[3],
        )


# --------------------------------------------------------------------------------------
# Helpers and constants


def as_multi(geom) -> shapely.MultiPolygon:
    """Polygon or MultiPolygon as a MultiPolygon (the column type of the schema)."""
    if geom.geom_type == "MultiPolygon":
        return geom
    return shapely.MultiPolygon([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])


def halve(poly) -> list | None:
    """Cut a six-vertex row parcel in two across its frontage (the parents of a merge)."""
    ring = np.asarray(poly.exterior.coords)[:-1]
    if len(ring) != 6:
        return None
    near_l, near_r, mid_r, far_r, far_l, mid_l = ring
    m_near, m_far = (near_l + near_r) / 2, (far_l + far_r) / 2
    left = shapely.Polygon([near_l, m_near, m_far, far_l, mid_l])
    right = shapely.Polygon([m_near, near_r, mid_r, far_r, m_far])
    if not (left.is_valid and right.is_valid) or min(left.area, right.area) < 30:
        return None
    return [left, right]


def ROAD_CLASS(road) -> str:
    if road.road_class == "main":
        if road.name.startswith("Quốc lộ"):
            return "quoc_lo"
        return "tinh_lo" if road.name.startswith("ĐT") else "duong_chinh"
    return "duong_nhanh" if road.road_class == "branch" else "hem"


DISTRICT_KIND = {"thanh_pho": "thành phố", "thi_xa": "thị xã", "huyen": "huyện"}
KIND_WORD = {"phuong": "phường", "xa": "xã", "thi_tran": "thị trấn"}
ORIGINS = (
    "Công nhận QSDĐ như giao đất có thu tiền sử dụng đất",
    "Công nhận QSDĐ như giao đất không thu tiền sử dụng đất",
    "Nhận chuyển nhượng đất được công nhận QSDĐ",
    "Nhận thừa kế đất được công nhận QSDĐ",
    "Nhận tặng cho đất được công nhận QSDĐ",
)
SPLIT_REASONS = (
    "Tách thửa để tặng cho quyền sử dụng đất",
    "Tách thửa để chuyển nhượng một phần thửa đất",
    "Tách thửa để phân chia thừa kế",
)
SERIES = (
    "AA",
    "AB",
    "AC",
    "AD",
    "AE",
    "AG",
    "AH",
    "AK",
    "BA",
    "BB",
    "BC",
    "BD",
    "BE",
    "BH",
    "BK",
    "BL",
    "BM",
    "BN",
    "BP",
    "BS",
    "BT",
    "BU",
    "BV",
    "BX",
    "CA",
    "CB",
    "CC",
    "CD",
    "CE",
    "CH",
    "CK",
    "CL",
    "CM",
    "CN",
    "CO",
    "CP",
    "CS",
    "CT",
    "DA",
    "DB",
    "DC",
    "DD",
    "DE",
    "DG",
    "DH",
    "DK",
    "DL",
    "DM",
)


class PartyBook:
    """Persons, couples, households, organisations and communities, with unique IDs."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rows: list[tuple] = []  # id, kind, name, gender, birth_year, id_kind, id_number
        self.members: list[tuple[int, int, str]] = []
        self._ids: set[str] = set()
        self._batch: list[tuple] = []

    def _add(self, kind, name, gender=None, birth=None, id_kind=None, id_number=None) -> int:
        pid = len(self.rows) + 1
        self.rows.append((pid, kind, name, gender, birth, id_kind, id_number))
        return pid

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self._ids:
                self._ids.add(value)
                return value

    def _draw(self) -> None:
        """Refill the batch of random name parts, birth places and digits (speed: one
        vectorised draw per 65 536 people instead of a few numpy calls per person)."""
        rng, size = self.rng, 1 << 16
        female = np.zeros(size, dtype=bool)
        fam, mid_m, giv_m = N.pick_person_names(rng, female)
        _, mid_f, giv_f = N.pick_person_names(rng, ~female)
        provinces = np.array([p for p, _ in N.BIRTH_PROVINCES], dtype=object)
        birth_place = provinces[rng.choice(len(provinces), size=size, p=N.BIRTH_PROVINCE_P)]
        self._batch = list(zip(fam, mid_m, giv_m, mid_f, giv_f, birth_place,
                               rng.integers(0, 10**6, size), rng.integers(1940, 2005, size),
                               strict=True))  # fmt: skip
        self._batch.reverse()

    def person(self, female: bool, family: str | None = None, birth: int | None = None) -> int:
        if not self._batch:
            self._draw()
        fam, mid_m, giv_m, mid_f, giv_f, place, digits, year = self._batch.pop()
        birth = birth or int(year)
        name = f"{family or fam} {mid_f if female else mid_m} {giv_f if female else giv_m}"
        # CCCD: birth province (3), gender and century (1), birth year (2), 6 digits.
        century = (birth // 100 - 19) * 2 + int(female)
        prefix = f"{place}{century}{birth % 100:02d}"
        number = f"{prefix}{int(digits):06d}"
        while number in self._ids:  # rare: draw again until unique
            number = f"{prefix}{int(self.rng.integers(0, 10**6)):06d}"
        self._ids.add(number)
        return self._add("ca_nhan", name, "nu" if female else "nam", birth, "cccd", number)

    def people(self, n: int) -> list[int]:
        return [self.person(bool(self.rng.random() < 0.5)) for _ in range(n)]

    def organisation(self, name: str, tax: str) -> int:
        return self._add("to_chuc", name, id_kind="mst", id_number=self._unique(lambda: tax))

    def company(self, tax: str) -> int:
        rng = self.rng
        name = (
            f"{N.COMPANY_FORMS[int(rng.integers(len(N.COMPANY_FORMS)))]} "
            f"{N.COMPANY_TRADES[int(rng.integers(len(N.COMPANY_TRADES)))]} "
            f"{N.COMPANY_TAGS[int(rng.integers(len(N.COMPANY_TAGS)))]}"
        )
        tax_code = self._unique(lambda: f"38{int(rng.integers(0, 10**8)):08d}")
        return self._add("to_chuc", name, id_kind="mst", id_number=tax_code)

    def community(self, name: str) -> int:
        return self._add("cong_dong", name)

    def owners(self, kinds: np.ndarray, tax) -> np.ndarray:
        out = np.empty(len(kinds), dtype=np.int64)
        for k, kind in enumerate(kinds):
            if kind == "ca_nhan":
                out[k] = self.person(bool(self.rng.random() < 0.45))
            elif kind == "vo_chong":
                husband = self.person(False)
                wife = self.person(True)
                h_name, w_name = self.rows[husband - 1][2], self.rows[wife - 1][2]
                out[k] = self._add("vo_chong", f"Ông {h_name} và vợ là bà {w_name}")
                self.members += [(int(out[k]), husband, "chồng"), (int(out[k]), wife, "vợ")]
            elif kind == "ho_gia_dinh":
                head = self.person(False)
                head_name = self.rows[head - 1][2]
                family = head_name.split(" ")[0]
                out[k] = self._add("ho_gia_dinh", f"Hộ ông {head_name}")
                self.members.append((int(out[k]), head, "chủ hộ"))
                self.members.append((int(out[k]), self.person(True), "vợ"))
                for _ in range(int(self.rng.integers(1, 4))):
                    child = self.person(
                        bool(self.rng.random() < 0.5), family, int(self.rng.integers(1985, 2007))
                    )
                    self.members.append((int(out[k]), child, "con"))
            else:
                out[k] = self.company(tax(self.rng))
        return out

    def tables(self) -> dict[str, Table]:
        cols = list(zip(*self.rows, strict=True))
        party = Table(
            "cad.party",
            {
                "id": cols[0],
                "kind": cols[1],
                "full_name": cols[2],
                "gender": cols[3],
                "birth_year": cols[4],
                "id_kind": cols[5],
                "id_number": cols[6],
            },
        )
        mcols = list(zip(*self.members, strict=True)) if self.members else [(), (), ()]
        member = Table(
            "cad.party_member",
            {
                "group_id": mcols[0],
                "member_id": mcols[1],
                "role": mcols[2],
            },
        )
        return {"cad.party": party, "cad.party_member": member}
