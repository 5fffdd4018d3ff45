"""Pure inventory rules: SKU identity, availability and composite (kit) arithmetic. No AWS here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_sku(sku: str) -> str:
    """The key two SKUs are compared by: trimmed and case-folded. The item keeps the SKU as given."""
    return sku.strip().casefold()


def clean_sku(sku: str) -> str:
    """The SKU as stored: trimmed, inner whitespace kept (some channels allow it), never empty."""
    cleaned = sku.strip()
    if not cleaned:
        raise ValueError("SKU must not be empty")
    return cleaned


def search_words(text: str) -> list[str]:
    """Lower-case words of a title or a search query, in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.casefold()):
        seen.setdefault(word, None)
    return list(seen)


def search_text(sku: str, title: str) -> str:
    """One lower-case string a fragment search can match against (SKU and title words)."""
    return " ".join([normalize_sku(sku), *search_words(title)])


@dataclass(frozen=True)
class StockAtLocation:
    location_id: str
    level: int
    allocated: int

    @property
    def available(self) -> int:
        return self.level - self.allocated


def available_at(levels: Iterable[StockAtLocation], location_ids: Iterable[str]) -> int:
    """Sum of (level - allocated) over the given locations, never below 0.

    The floor is applied to the sum, not per location: an oversold location's shortfall is real
    demand on the seller's stock, so it must not be hidden by another location's surplus.
    """
    wanted = set(location_ids)
    total = sum(stock.available for stock in levels if stock.location_id in wanted)
    return max(total, 0)


def kit_available(components: Iterable[tuple[int, int]]) -> int:
    """How many kits can be built: min over (component available, quantity per kit).

    A kit with no components cannot be built (0).
    """
    counts = [max(available, 0) // quantity for available, quantity in components]
    return min(counts) if counts else 0


def find_cycle(kit_id: str, components: Mapping[str, Iterable[str]], new_components: Iterable[str]) -> list[str]:
    """The path that would make `kit_id` contain itself if it were given `new_components`, or [].

    `components` maps an item id to the ids of its current components (the rest of the graph).
    """
    for start in new_components:
        path = _path_to(start, kit_id, components, [kit_id])
        if path:
            return path
    return []


def _path_to(node: str, target: str, graph: Mapping[str, Iterable[str]], path: list[str]) -> list[str]:
    path = [*path, node]
    if node == target:
        return path
    for child in graph.get(node, ()):
        if child in path[1:]:
            continue
        found = _path_to(child, target, graph, path)
        if found:
            return found
    return []


@dataclass(frozen=True)
class StockNode:
    """One item's stock, or its components (item id, quantity per kit) when it is a kit."""

    levels: tuple[StockAtLocation, ...] = ()
    components: tuple[tuple[str, int], ...] = ()


def available(item_id: str, nodes: Mapping[str, StockNode | None], location_ids: Iterable[str]) -> int:
    """available(item, locations): a plain item's stock, or how many of a kit can be built. An item
    missing from `nodes` (None: it no longer exists) holds nothing."""
    locations = tuple(location_ids)
    node = nodes[item_id] or StockNode()
    if node.components:
        return kit_available(
            (available(component_id, nodes, locations), quantity) for component_id, quantity in node.components
        )
    return available_at(node.levels, locations)
