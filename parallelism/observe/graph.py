"""The recorded graph as data, and as Mermaid or Graphviz DOT text (no graphviz binary needed).

``result.graph`` is a :class:`TaskGraph`: one :class:`Node` per task (its exact name, its kind and,
after the run, its outcome) and one :class:`Edge` per dependency, pointing from the dependency to
the dependent.  Ordering-only dependencies (the classic API's ``dependencies=``) are marked and drawn
dashed.  A Deferred of an earlier block used in this one appears as an ``external`` node.

Node ids in the text are ``t0``, ``t1``... (the recording order), never the names, so any name is
safe: labels are escaped for each language.  The kind is shown by the shape (process: box, thread:
rounded box, external: parallelogram) and the outcome by the colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from .._state import TaskState

__all__ = ["Edge", "Node", "TaskGraph"]

# (fill, stroke) by outcome; None is a task without an outcome (not run).
_COLOURS: dict[TaskState | None, tuple[str, str]] = {
    TaskState.SUCCEEDED: ("#c8e6c9", "#2e7d32"),
    TaskState.FAILED: ("#ffcdd2", "#c62828"),
    TaskState.CANCELLED: ("#eeeeee", "#757575"),
    None: ("#ffffff", "#424242"),
}


class Node(NamedTuple):
    """A task: its exact name, ``kind`` (``process``, ``thread`` or ``external``) and outcome."""

    name: str
    kind: str
    state: TaskState | None


class Edge(NamedTuple):
    """``source`` must finish before ``target`` starts (indices into ``TaskGraph.nodes``).

    ``ordering`` marks a dependency that passes no value (the classic API's ``dependencies=``).
    """

    source: int
    target: int
    ordering: bool


class TaskGraph:
    """A read-only task graph: ``nodes`` in recording order and ``edges`` between them."""

    __slots__ = ("_edges", "_nodes")

    def __init__(self, nodes: Iterable[Node], edges: Iterable[Edge]) -> None:
        self._nodes = tuple(nodes)
        self._edges = tuple(edges)
        for edge in self._edges:
            if not (0 <= edge.source < len(self._nodes) and 0 <= edge.target < len(self._nodes)):
                raise ValueError(f"edge {edge} points outside the {len(self._nodes)} nodes")

    @classmethod
    def _from_run(
        cls,
        *,
        names: Sequence[str],
        kinds: Sequence[str],
        deps: Sequence[tuple[int, ...]],
        order_edges: frozenset[tuple[int, int]],
        states: Mapping[str, TaskState],
        externals: Mapping[int, TaskState | None],
    ) -> TaskGraph:
        nodes = [
            Node(name, "external", externals[key])
            if key in externals
            else Node(name, kinds[key], states.get(name))
            for key, name in enumerate(names)
        ]
        edges = [
            Edge(dep, key, (dep, key) in order_edges)
            for key, task_deps in enumerate(deps)
            for dep in task_deps
        ]
        return cls(nodes, edges)

    @property
    def nodes(self) -> tuple[Node, ...]:
        """One node per task, in recording order."""
        return self._nodes

    @property
    def edges(self) -> tuple[Edge, ...]:
        """One edge per direct dependency, from the dependency to the dependent."""
        return self._edges

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return f"<TaskGraph of {len(self._nodes)} tasks and {len(self._edges)} dependencies>"

    # --- Mermaid ---------------------------------------------------------------------------------

    def to_mermaid(self) -> str:
        """A Mermaid ``flowchart`` (paste it in a Markdown ``mermaid`` block)."""
        lines = [
            "flowchart LR",
            "    %% process task: [box], thread task: (rounded), external (earlier block): [/slanted/]",
            "    %% colour: green succeeded, red failed, grey cancelled, white not run; "
            "dashed edge: ordering only",
        ]
        shapes = {"process": ('["', '"]'), "thread": ('("', '")'), "external": ('[/"', '"/]')}
        for key, node in enumerate(self._nodes):
            left, right = shapes.get(node.kind, ('["', '"]'))
            lines.append(f"    t{key}{left}{_mermaid_text(node.name)}{right}")
        for edge in self._edges:
            arrow = "-.->" if edge.ordering else "-->"
            lines.append(f"    t{edge.source} {arrow} t{edge.target}")
        by_state: dict[TaskState | None, list[str]] = {}
        for key, node in enumerate(self._nodes):
            by_state.setdefault(node.state, []).append(f"t{key}")
        for state, ids in by_state.items():
            fill, stroke = _COLOURS[state]
            name = _state_name(state)
            lines.append(f"    classDef {name} fill:{fill},stroke:{stroke},color:#000000")
            lines.append(f"    class {','.join(ids)} {name}")
        return "\n".join(lines) + "\n"

    # --- DOT ---------------------------------------------------------------------------------------

    def to_dot(self) -> str:
        """Graphviz DOT text (``dot -Tsvg``, or any DOT viewer; nothing here needs graphviz)."""
        lines = [
            "digraph parallelism {",
            "    rankdir=LR;",
            '    node [style=filled, fontname="Helvetica"];',
        ]
        shapes = {"process": "box", "thread": "box", "external": "parallelogram"}
        for key, node in enumerate(self._nodes):
            fill, stroke = _COLOURS[node.state]
            shape = shapes.get(node.kind, "box")
            style = '"filled,rounded"' if node.kind == "thread" else "filled"
            outcome = _state_name(node.state).replace("_", " ")
            tooltip = f"{node.kind} task, {outcome}"
            lines.append(
                f"    t{key} [label={_dot_text(node.name)}, shape={shape}, style={style}, "
                f'fillcolor="{fill}", color="{stroke}", tooltip={_dot_text(tooltip)}];'
            )
        for edge in self._edges:
            style = " [style=dashed]" if edge.ordering else ""
            lines.append(f"    t{edge.source} -> t{edge.target}{style};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _state_name(state: TaskState | None) -> str:
    return "not_run" if state is None else state.value


_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "\n": "#10;"}


def _mermaid_text(text: str) -> str:
    """``text`` inside a quoted Mermaid label: the characters Mermaid reads as syntax become entities."""
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in text)


def _dot_text(text: str) -> str:
    """``text`` as a quoted DOT string that Graphviz shows as it is."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{escaped}"'
