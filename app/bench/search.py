"""``landrec bench search``: server time of api.search on a large store (issue 4: ≤ 100 ms).

Queries are drawn from the store itself (a real owner's name typed without diacritics and
with a swapped pair of letters, an ID number, a certificate serial, a (commune, sheet,
parcel) key, a national parcel ID, an address fragment, a common name prefix) and run as
temporary viewers: one who sees the whole province and officers of the largest commune,
of the largest under 20 000 parcels (api.search may read such an area person by person)
and of the smallest. Times are taken on a loopback connection (≈ server time) and
reported as median and worst of the runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import psycopg.conninfo

from app.bench.rls import _create_viewer, _drop_viewer, _one
from app.errors import UserFacingError

TARGET_MS = 100.0


@dataclass
class SearchCase:
    who: str
    kind: str
    text: str
    times_ms: list[float] = field(default_factory=list)
    rows: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def worst_ms(self) -> float:
        return max(self.times_ms)


def _swap_two_letters(word: str) -> str:
    """A typo: the middle two letters of the longest word exchanged."""
    words = word.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) >= 4:
        m = len(w) // 2
        words[i] = w[: m - 1] + w[m] + w[m - 1] + w[m + 1 :]
    return " ".join(words)


def sample_queries(owner: psycopg.Connection, commune: int) -> list[tuple[str, str]]:
    """(kind, text) of queries that find something in ``commune``."""
    row = _one(
        owner,
        """
        SELECT pa.name_folded, pa.id_number, c.serial, u.code, s.sheet_number,
               p.parcel_number, p.national_id, p.address
        FROM cad.parcel p
        JOIN cad.map_sheet s ON s.id = p.sheet_id
        JOIN ref.admin_unit u ON u.id = s.commune_id
        JOIN cad.land_right r ON r.parcel_id = p.id
        JOIN cad.party pa ON pa.id = r.party_id AND pa.id_number IS NOT NULL
        LEFT JOIN cad.certificate c ON c.id = r.certificate_id
        WHERE p.commune_id = %s AND p.retired_at IS NULL AND p.address IS NOT NULL
              AND c.serial IS NOT NULL
        ORDER BY p.id LIMIT 1
        """,
        (commune,),
    )
    if row is None:
        raise UserFacingError(f"commune {commune} has no parcel with an owner and certificate")
    name, id_number, serial, code, sheet, number, national, address = row
    street = address.split(",")[0]
    real = owner.execute(
        "SELECT pa.name_folded FROM cad.party pa JOIN cad.land_right r ON r.party_id = pa.id "
        "AND r.valid_to IS NULL JOIN cad.parcel p ON p.id = r.parcel_id "
        "WHERE p.commune_id = %s AND pa.name_folded LIKE 'tran %%' LIMIT 1",
        (commune,),
    ).fetchone()
    return [
        ("name without diacritics", name),
        ("name with a typo", _swap_two_letters(name)),
        # 'tan' is itself a name syllable: only the near-syllable variants find 'tran …'.
        ("typo making a real word", "tan " + real[0][5:] if real else "tan van hung"),
        ("nobody of that name", "xyzq qqq"),
        ("common name prefix", "nguyen van"),
        ("ID number", id_number),
        ("certificate serial", serial),
        ("commune sheet parcel", f"{code} {sheet} {number}"),
        ("national parcel ID", national),
        ("address", street),
    ]


def run_search_bench(
    dsn: str, runs: int = 10, progress: Callable[[str], None] = lambda _m: None
) -> tuple[int, list[SearchCase]]:
    cases: list[SearchCase] = []
    with psycopg.connect(dsn, autocommit=True) as owner:
        total = _one(owner, "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL")[0]
        by_size = owner.execute(
            "SELECT commune_id, count(*) FROM cad.parcel WHERE retired_at IS NULL "
            "GROUP BY 1 HAVING count(*) >= 100 ORDER BY 2 DESC"
        ).fetchall()
        if not by_size:
            raise UserFacingError("the store holds no commune with 100 parcels or more")
        largest, smallest = by_size[0], by_size[-1]
        # The largest commune read person by person (api.search's "small area" path).
        middle = next((c for c in by_size if c[1] < 20_000), smallest)
        progress(
            f"{total:,} parcels; communes of {largest[1]:,}, {middle[1]:,} and "
            f"{smallest[1]:,} parcels"
        )
        chosen = list(dict.fromkeys([tuple(largest), tuple(middle), tuple(smallest)]))
        viewers = [
            ("whole province", True, None, largest[0]),
            *((f"officer, commune of {c[1]:,}", False, c[0], c[0]) for c in chosen),
        ]
        for who, whole, commune, sample_from in viewers:
            queries = sample_queries(owner, sample_from)
            role, password = _create_viewer(owner, whole, commune)
            try:
                person = psycopg.conninfo.make_conninfo(dsn, user=role, password=password)
                with psycopg.connect(person, autocommit=True) as conn:
                    for kind, text in queries:
                        case = SearchCase(who, kind, text)
                        query = "SELECT * FROM api.search(%s)"
                        conn.execute(query, (text,)).fetchall()  # plan and cache warm
                        for _ in range(runs):
                            t0 = time.perf_counter()
                            rows = conn.execute(query, (text,)).fetchall()
                            case.times_ms.append((time.perf_counter() - t0) * 1000)
                        case.rows = len(rows)
                        cases.append(case)
                progress(f"{who}: done")
            finally:
                _drop_viewer(owner, role)
    return total, cases


def format_table(total: int, runs: int, cases: list[SearchCase]) -> str:
    lines = [
        f"landrec bench search — api.search on a store of {total:,} parcels, "
        f"{runs} runs each, loopback (≈ server time), target ≤ {TARGET_MS:.0f} ms",
        "",
        f"{'who':34} {'query':26} {'rows':>5} {'median ms':>10} {'worst ms':>9}  result",
        "-" * 100,
    ]
    for c in cases:
        ok = (
            "pass"
            if c.worst_ms <= TARGET_MS
            else ("median ok" if c.median_ms <= TARGET_MS else "FAIL")
        )
        lines.append(
            f"{c.who:34} {c.kind:26} {c.rows:>5} {c.median_ms:>10.1f} {c.worst_ms:>9.1f}  {ok}"
        )
    lines.append("")
    lines.append("queries: " + "; ".join(f"{c.kind}={c.text!r}" for c in cases[:10]))
    return "\n".join(lines)
