"""The catalog file of `licensebot apps import`: read whole and checked before anything is written."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.app_records import AppRecord


class CatalogFileError(Exception):
    """One line naming the file and what is wrong in it."""


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    apps: list[dict[str, Any]]


@functools.cache
def _catalog_loader() -> Any:
    """SafeLoader, but a date-like value that is no date (2027-13-01) is a YAML error with its line, not a
    bare ValueError from the timestamp constructor. Built on first use: `serve` never reads a catalog file,
    and PyYAML costs it a megabyte it would keep (issue 16's memory)."""
    import yaml

    class CatalogLoader(yaml.SafeLoader):
        def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
            try:
                return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
            except ValueError as error:
                raise yaml.constructor.ConstructorError(
                    None, None, f'"{node.value}" is not a valid date ({error})', node.start_mark
                ) from None

    CatalogLoader.add_constructor("tag:yaml.org,2002:timestamp", CatalogLoader.construct_yaml_timestamp)
    return CatalogLoader


def parse_catalog(text: str, source: str = "catalog") -> list[AppRecord]:
    """Every entry valid, or CatalogFileError naming the first bad one (with the line for YAML errors)."""
    import yaml

    try:
        data = yaml.load(text, Loader=_catalog_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise CatalogFileError(f"{source}: YAML error{where}: {problem}") from None
    if not isinstance(data, dict) or "apps" not in data:
        raise CatalogFileError(f'{source}: expected a mapping with a list under "apps"')
    try:
        catalog = CatalogFile.model_validate(data)
    except ValidationError as error:
        raise CatalogFileError(f"{source}: {first_problem(error)}") from None
    records = []
    for index, entry in enumerate(catalog.apps, start=1):
        label = f"entry {index}" + (f' ("{entry["name"]}")' if isinstance(entry.get("name"), str) else "")
        try:
            records.append(AppRecord.model_validate(entry))
        except ValidationError as error:
            raise CatalogFileError(f"{source}: {label}: {first_problem(error)}") from None
    return records


def first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(p) for p in problem["loc"])
    kind = problem["type"]
    if kind == "extra_forbidden":
        return f'unknown key "{where}"'
    if kind == "missing":
        return f'"{where}" is missing'
    if kind == "enum":
        return f'"{where}" must be marketplace or provider'
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f'"{where}" must be a whole number'
    if kind == "url_scheme":
        return f'"{where}": must start with https:// or http://'
    return f'"{where}": {problem["msg"]}'
