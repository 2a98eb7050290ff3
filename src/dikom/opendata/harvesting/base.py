"""The harvester plugin interface: a source kind turns another portal into CKAN package dictionaries.

A plugin (``ckan.py``, ``dcat.py``) reads pages through the ``Fetch`` it is
given (the SSRF-safe ``lib.safe_http.fetch`` with the harvest policy and size
limits) and yields ``Harvested`` records; it raises ``HarvestError`` when the
source cannot be read as a whole. It never touches the database: the runner
(``runner.py``) decides what to create, update and withdraw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from dikom.lib.safe_http import Response

Fetch = Callable[[str, str], Response]  # (url, accept) → response


class HarvestError(Exception):
    """The source as a whole could not be harvested; ``message`` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Harvested:
    identifier: str  # stable id of the dataset at the source (CKAN id, dct:identifier or the dataset IRI)
    package: dict[str, Any]  # CKAN package dictionary for actions.create_dataset / update_dataset


class Harvester(Protocol):
    def harvest(self, url: str, fetch: Fetch, max_pages: int) -> Iterator[Harvested]: ...


REGISTRY: dict[str, Harvester] = {}


def register(kind: str, harvester: Harvester) -> None:
    REGISTRY[kind] = harvester
