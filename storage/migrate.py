"""`python -m storage.migrate`: the schema upgraded to the newest revision, in a process of its own
(`upgrade_schema_apart`). The database's URL comes in LICENSEBOT_MIGRATE_URL; a failure is one line on
stderr and exit 1."""

from __future__ import annotations

import os
import sys

from storage.db import MIGRATE_URL_ENV, make_engine, upgrade_schema


def main() -> int:
    engine = make_engine(os.environ[MIGRATE_URL_ENV])
    try:
        upgrade_schema(engine)
    except Exception as error:  # noqa: BLE001 - whatever it is, one line for the parent to show
        print(f"{type(error).__name__}: {' '.join(str(error).split())[:300]}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
