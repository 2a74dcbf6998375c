"""Platform adapters, found by name: ``bot.adapters.<name>`` for ``adapters.<name>`` in the configuration."""
from __future__ import annotations

import importlib.util
from collections.abc import Iterable


def not_built_yet(names: Iterable[str]) -> list[str]:
    """The enabled adapters that have no module yet (the configuration knows more than the code)."""
    return [name for name in names if importlib.util.find_spec(f"{__name__}.{name}") is None]
