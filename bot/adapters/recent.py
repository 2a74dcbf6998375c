"""A bounded set of recently seen ids, shared by the adapters that de-duplicate deliveries."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class RecentIds:
    """The last ``size`` ids added, oldest forgotten first; a cheap first check before the store."""

    def __init__(self, size: int) -> None:
        self._ids: OrderedDict[Hashable, None] = OrderedDict()
        self._size = size

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def add(self, item: Hashable) -> None:
        self._ids[item] = None
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
