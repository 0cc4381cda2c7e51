"""Where the PostgreSQL tests find their server: LICENSEBOT_TEST_POSTGRES_URL, or a skip with the reason —
except in CI (CI=true), where an absent server is a failure, never a silent skip."""

from __future__ import annotations

import os

import pytest

from storage.db import normalize_url

POSTGRES_ENV = "LICENSEBOT_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        if IN_CI:
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: PostgreSQL tests must run there", pytrace=False)
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return normalize_url(url)
