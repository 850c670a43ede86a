"""Putting values where Deferreds stood in a thread task's arguments.

Only the containers that recording searched (``_graph.find_deferreds``: exact list, tuple, set,
frozenset and dict values) are rebuilt, and only when they hold a Deferred; every other object,
containers without Deferreds included, is passed as the same object (by reference).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ._deferred import Deferred

__all__ = ["substitute"]

C = TypeVar("C", tuple[Any, ...], dict[str, Any])


def substitute(arguments: C, value_of: Callable[[Any], Any], placeholder: type[Any] = Deferred) -> C:
    """``arguments`` (an args tuple or kwargs dict) with each Deferred replaced by its value.

    ``placeholder`` is what to replace: the classic API also maps its own placeholders with this walk.
    """
    new, _ = _replace(arguments, value_of, placeholder)
    result: C = new
    return result


def _replace(obj: Any, value_of: Callable[[Any], Any], placeholder: type[Any]) -> tuple[Any, bool]:
    if isinstance(obj, placeholder):
        return value_of(obj), True
    kind = type(obj)
    if kind is dict:
        changed = False
        new_dict = {}
        for key, item in obj.items():
            new_dict[key], item_changed = _replace(item, value_of, placeholder)
            changed = changed or item_changed
        return (new_dict, True) if changed else (obj, False)
    if kind in (list, tuple, set, frozenset):
        changed = False
        items = []
        for item in obj:
            new_item, item_changed = _replace(item, value_of, placeholder)
            items.append(new_item)
            changed = changed or item_changed
        return (kind(items), True) if changed else (obj, False)
    return obj, False
