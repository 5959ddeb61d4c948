"""Land-use colours (after the cadastral map symbology of TT 25/2014/TT-BTNMT, simplified)
and the legend. Colours are '#rrggbb' strings so the engine stays Qt-free."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Fill colour per current land-use code (ref.land_use_code, TT 08/2024).
LAND_USE_COLOURS: Mapping[str, str] = {
    # Agricultural land (NNP): yellows and greens
    "LUC": "#ffff64",  # rice, two crops or more
    "LUK": "#ffff96",  # other rice
    "HNK": "#fff0b4",  # other annual crops
    "CLN": "#ffd2a0",  # perennial crops
    "RDD": "#6eb45a",  # special-use forest
    "RPH": "#8cc878",  # protection forest
    "RSX": "#b4dca0",  # production forest
    "NTS": "#aaffff",  # aquaculture
    "CNT": "#e6c8a0",  # concentrated livestock
    "LMU": "#d2e6ff",  # salt making
    "NKH": "#f5e6be",  # other agricultural
    # Non-agricultural land (PNN): reds, pinks, greys
    "ONT": "#ffd0ff",  # rural residential
    "ODT": "#ffa0ff",  # urban residential
    "TSC": "#ff8c8c",  # offices of state agencies
    "CQP": "#ff6464",  # defence
    "CAN": "#ff5050",  # security
    "DVH": "#ffaa82",  # culture
    "DYT": "#ffb4b4",  # health
    "DGD": "#ffc8a0",  # education
    "DTT": "#ffdcb4",  # sport
    "DKH": "#f0b4c8",  # science and technology
    "DXH": "#f0c8dc",  # social services
    "DNG": "#dcb4f0",  # diplomatic
    "DSK": "#f0a0b4",  # other public-service works
    "TMD": "#fa96b4",  # trade and services
    "SKC": "#c88cb4",  # non-agricultural production
    "SKS": "#b48c78",  # mining
    "DGT": "#ffaa32",  # transport
    "DTL": "#a0dcff",  # irrigation
    "DNL": "#ffc864",  # energy
    "DBV": "#d2b48c",  # post and telecommunications
    "DCH": "#ffbe78",  # markets
    "DRA": "#c8c8aa",  # waste treatment
    "DKV": "#c8f0b4",  # public recreation
    "DCK": "#e6d2be",  # other public works
    "TON": "#ffb4ff",  # religious
    "TIN": "#ffbee6",  # belief
    "NTD": "#d2d2d2",  # cemeteries
    "SON": "#a0d2ff",  # rivers and streams
    "MNC": "#b4e6ff",  # water surfaces
    "PNK": "#e6c8e6",  # other non-agricultural
    # Unused land (CSD): greys
    "BCS": "#f0f0e6",
    "DCS": "#e6e6d2",
    "NCS": "#dcdcc8",
}

#: Fallback per land-use group, and for a parcel without a land-use record.
GROUP_COLOURS: Mapping[str, str] = {"NNP": "#fff0b4", "PNN": "#ffd0d0", "CSD": "#eeeeee"}
UNKNOWN_COLOUR = "#ffffff"

#: Names of the groups in the legend.
GROUP_TITLES: Mapping[str, tuple[str, str]] = {
    "NNP": ("Đất nông nghiệp", "Agricultural land"),
    "PNN": ("Đất phi nông nghiệp", "Non-agricultural land"),
    "CSD": ("Đất chưa sử dụng", "Unused land"),
}


@dataclass(frozen=True)
class LegendEntry:
    code: str
    name: str
    group: str
    colour: str


class LandUseStyle:
    """Colour of each land-use code, legacy codes through what they map to.

    Built from ref.land_use_code rows ``(code, name_vi, group_code, status, maps_to)``
    so a code added to the table still gets its group's colour.
    """

    def __init__(self, rows: Iterable[tuple[str, str, str, str, str | None]] = ()) -> None:
        self.names: dict[str, str] = {}
        self.groups: dict[str, str] = {}
        self.colours: dict[str, str] = dict(LAND_USE_COLOURS)
        legacy: list[tuple[str, str, str | None]] = []
        for code, name, group, status, maps_to in rows:
            self.names[code] = name
            self.groups[code] = group
            if status == "legacy":
                legacy.append((code, group, maps_to))
            elif code not in self.colours:
                self.colours[code] = GROUP_COLOURS.get(group, UNKNOWN_COLOUR)
        for code, group, maps_to in legacy:
            self.colours[code] = self.colours.get(
                maps_to or "", GROUP_COLOURS.get(group, UNKNOWN_COLOUR)
            )

    def colour(self, code: str | None) -> str:
        if code is None:
            return UNKNOWN_COLOUR
        return self.colours.get(code, UNKNOWN_COLOUR)

    def legend(self, codes: Iterable[str] | None = None) -> list[LegendEntry]:
        """Entries in table order (or for ``codes`` only, e.g. those in view)."""
        wanted = set(codes) if codes is not None else None
        out = []
        for code, name in self.names.items():
            if wanted is not None and code not in wanted:
                continue
            out.append(LegendEntry(code, name, self.groups.get(code, ""), self.colour(code)))
        return out


def load_style(conn) -> LandUseStyle:
    rows = conn.execute(
        "SELECT code, name_vi, group_code, status, maps_to FROM ref.land_use_code "
        "ORDER BY group_code DESC, status, code"
    ).fetchall()
    return LandUseStyle(rows)
