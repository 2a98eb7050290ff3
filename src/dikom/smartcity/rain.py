"""Reading the German weather service's (DWD) daily station data for a city's rain series.

The DWD publishes daily climate data per station as ``;``-separated text,
``produkt_klima_tag_<from>_<to>_<station>.txt`` (inside a ZIP with the
station's metadata), header
``STATIONS_ID;MESS_DATUM;QN_3;FX;FM;QN_4;RSK;RSKF;...;eor``, values padded
with spaces, ``MESS_DATUM`` as ``YYYYMMDD``, ``RSK`` the day's precipitation
in mm and ``-999`` for a missing value. The precipitation-only product
(``produkt_nieder_tag_*.txt``) names the column ``RS``; both are read. The
file may be uploaded as the text file or as the ZIP as downloaded.

Pure functions; a file that cannot be read raises ``RainUnreadable`` with a
German message, a bad line is counted and described, never guessed.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MISSING = -999.0
MAX_MM = 500.0  # the German daily record is 312 mm (Zinnwald 2002)
MAX_REPORTED = 50


class RainUnreadable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RainSeries:
    station: str = ""
    days: dict[dt.date, float] = field(default_factory=dict)
    missing: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(text)


def _product_text(data: bytes) -> bytes:
    if not data.startswith(b"PK"):
        return data
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [i for i in archive.infolist() if i.filename.rsplit("/", 1)[-1].startswith("produkt_")]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RainUnreadable(_("The ZIP file is damaged.")) from None
    if len(members) != 1:
        raise RainUnreadable(_("The ZIP file must contain exactly one DWD product file (produkt_….txt)."))
    if members[0].file_size > MAX_UNPACKED_BYTES:
        raise RainUnreadable(_("The product file in the ZIP is too large."))
    return archive.read(members[0])


def parse_dwd_daily(data: bytes) -> RainSeries:
    """The daily precipitation of a DWD daily product file (text or ZIP)."""
    if len(data) > MAX_FILE_BYTES:
        raise RainUnreadable(_("The file is larger than 20 MB."))
    text = _product_text(data).decode("latin-1")  # DWD files are plain ASCII; Latin-1 never fails
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise RainUnreadable(_("The file is empty."))
    header = [cell.strip().upper() for cell in lines[0].split(";")]
    if "MESS_DATUM" not in header or not ({"RSK", "RS"} & set(header)):
        raise RainUnreadable(
            _("This is not a DWD daily product file: the header needs the columns MESS_DATUM and RSK (or RS).")
        )
    date_at = header.index("MESS_DATUM")
    rain_at = header.index("RSK") if "RSK" in header else header.index("RS")
    station_at = header.index("STATIONS_ID") if "STATIONS_ID" in header else None
    series = RainSeries()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(";")]
        if len(cells) <= max(date_at, rain_at):
            series.problem(_("Line %(n)d has too few columns.") % {"n": number})
            continue
        if station_at is not None:
            if not series.station:
                series.station = cells[station_at]
            elif cells[station_at] != series.station:
                raise RainUnreadable(
                    _("The file holds several stations (%(a)s and %(b)s); upload one station's file.")
                    % {"a": series.station, "b": cells[station_at][:20]}
                )
        try:
            raw = cells[date_at]
            if len(raw) != 8 or not raw.isdigit():
                raise ValueError(raw)
            day = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            series.problem(
                _("Line %(n)d: “%(value)s” is not a date (YYYYMMDD).") % {"n": number, "value": cells[date_at][:20]}
            )
            continue
        try:
            mm = float(cells[rain_at])
        except ValueError:
            series.problem(_("Line %(n)d: “%(value)s” is not a number.") % {"n": number, "value": cells[rain_at][:20]})
            continue
        if mm == MISSING:
            series.missing += 1
            continue
        if not 0 <= mm <= MAX_MM:
            series.problem(_("Line %(n)d: %(mm)s mm is not a plausible daily precipitation.") % {"n": number, "mm": mm})
            continue
        series.days[day] = mm
    if not series.days and not series.missing:
        raise RainUnreadable(_("The file holds no daily values."))
    return series


def dwd_text(station: str, days: dict[dt.date, float]) -> str:
    """A daily product file in the DWD's layout (used for the demo data and the tests)."""
    lines = [
        "STATIONS_ID;MESS_DATUM;QN_3;  FX;  FM;QN_4; RSK;RSKF; SDK;SHK_TAG;  NM; VPM;  PM; TMK; UPM; TXK; TNK; TGK;eor"
    ]
    for day in sorted(days):
        mm = days[day]
        rsk = f"{mm:6.1f}" if mm != MISSING else "  -999"
        lines.append(
            f"{station:>11};{day:%Y%m%d};-999;-999;-999;    3;{rsk};   6;-999;   0;-999; 9.8;1004.7;  12.3;  81.00;  17.1;   7.9;-999;eor"
        )
    return "\n".join(lines) + "\n"
