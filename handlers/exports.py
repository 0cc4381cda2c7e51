"""The "who holds what" CSV, the same from every door: `licensebot assignments export` and
`/licenses export` (which uploads it to the admin's DM)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from bot.bulk import Holding


def write_holdings_csv(holdings: Iterable[Holding], out: TextIO) -> int:
    """Writes the header and one row per seat and source; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=list(Holding.COLUMNS), lineterminator="\n")
    writer.writeheader()
    count = 0
    for holding in holdings:
        writer.writerow(holding.as_json())
        count += 1
    return count
