"""The org-unit tree of one municipality, loaded with a single query and
assembled in Python."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.db.models import Count

from dikom.municipalities.models import Municipality, OrgUnit


@dataclass
class TreeNode:
    unit: OrgUnit
    depth: int
    children: list[TreeNode] = field(default_factory=list)


class OrgUnitTree:
    """All units of a municipality as a forest of :class:`TreeNode`.

    Each unit's ``parent`` is set to the loaded parent object, so walking up the
    tree (as ``OrgUnit.clean`` does to find cycles) needs no further queries.
    """

    def __init__(self, units: Sequence[OrgUnit]) -> None:
        self.units = list(units)
        self.by_id = {unit.pk: unit for unit in units}
        nodes = {unit.pk: TreeNode(unit=unit, depth=0) for unit in units}
        self.roots: list[TreeNode] = []
        for unit in units:
            node = nodes[unit.pk]
            parent = self.by_id.get(unit.parent_id) if unit.parent_id else None
            if parent is not None:
                unit.parent = parent
                nodes[parent.pk].children.append(node)
            else:
                self.roots.append(node)
        self._set_depth(self.roots, 0)

    @classmethod
    def load(cls, municipality: Municipality) -> OrgUnitTree:
        units = list(
            OrgUnit.objects.filter(municipality=municipality)
            .annotate(membership_count=Count("memberships"))
            .order_by("name", "pk")
        )
        return cls(units)

    def _set_depth(self, nodes: list[TreeNode], depth: int) -> None:
        # Iterative, so that a deep (or, through outside edits, cyclic) tree cannot blow the stack.
        stack = [(node, depth) for node in nodes]
        seen: set[int] = set()
        while stack:
            node, level = stack.pop()
            if node.unit.pk in seen:
                continue
            seen.add(node.unit.pk)
            node.depth = level
            stack.extend((child, level + 1) for child in node.children)

    def walk(self) -> Iterator[TreeNode]:
        """Depth-first, in name order."""
        stack = list(reversed(self.roots))
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if node.unit.pk in seen:
                continue
            seen.add(node.unit.pk)
            yield node
            stack.extend(reversed(node.children))

    def labelled(self) -> Iterator[tuple[OrgUnit, str]]:
        """Units in tree order with an indented label, for select boxes."""
        for node in self.walk():
            label = node.unit.name if not node.unit.short_name else f"{node.unit.name} ({node.unit.short_name})"
            yield node.unit, f"{'— ' * node.depth}{label}"

    def __len__(self) -> int:
        return len(self.units)
