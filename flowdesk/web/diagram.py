"""A ticket's process as a picture: a simple layered layout computed from the definition.

Nodes are placed left to right by their longest distance from the start (ignoring the lines
that go back, which are drawn dashed underneath), and coloured by what the ticket did.
"""

from dataclasses import dataclass

from flowdesk import engine
from flowdesk.texts import localized

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 150, 48, 60, 28, 20
ROUND = {"start", "end"}
DIAMOND = {"exclusive", "parallel_split", "parallel_join"}


@dataclass(frozen=True)
class DiagramNode:
    id: str
    label: str
    type: str
    status: str  # done | current | pending
    x: int
    y: int

    @property
    def shape(self) -> str:
        return "circle" if self.type in ROUND else "diamond" if self.type in DIAMOND else "rect"

    @property
    def short_label(self) -> str:
        return self.label if len(self.label) <= 18 else self.label[:17] + "…"

    @property
    def cx(self) -> int:
        return self.x + NODE_W // 2

    @property
    def cy(self) -> int:
        return self.y + NODE_H // 2

    @property
    def diamond_points(self) -> str:
        return (
            f"{self.cx},{self.y} {self.x + NODE_W},{self.cy} "
            f"{self.cx},{self.y + NODE_H} {self.x},{self.cy}"
        )


@dataclass(frozen=True)
class DiagramEdge:
    path: str
    back: bool


@dataclass(frozen=True)
class Diagram:
    nodes: list[DiagramNode]
    edges: list[DiagramEdge]
    width: int
    height: int


def _back_edges(defn: engine.Definition) -> set[int]:
    """Indices of transitions that close a loop (found by a depth-first walk from the start)."""
    back: set[int] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 finished

    def walk(node: str) -> None:
        state[node] = 1
        for line in defn.outgoing.get(node, ()):
            if state.get(line.target) == 1:
                back.add(line.index)
            elif line.target not in state:
                walk(line.target)
        state[node] = 2

    walk(defn.start)
    return back


def _layers(defn: engine.Definition, back: set[int]) -> dict[str, int]:
    layer = {node: 0 for node in defn.nodes}
    for _ in range(len(defn.nodes)):  # longest path by relaxation; the forward graph is a DAG
        changed = False
        for line in defn.transitions:
            if line.index not in back and layer[line.target] < layer[line.source] + 1:
                layer[line.target] = layer[line.source] + 1
                changed = True
        if not changed:
            break
    return layer


def build_diagram(defn: engine.Definition, state: dict, status: str) -> Diagram:
    """Lay out the definition and colour nodes from the ticket's engine state."""
    back = _back_edges(defn)
    layer = _layers(defn, back)
    current = set(engine.current_nodes(state))
    passed = _passed(defn, set(state.get("visited", [])), back, status)
    columns: dict[int, list[str]] = {}
    for node_id in defn.nodes:  # document order within a column
        columns.setdefault(layer[node_id], []).append(node_id)
    tallest = max(len(ids) for ids in columns.values())
    height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y + 40  # room for loops
    nodes: dict[str, DiagramNode] = {}
    for column, ids in columns.items():
        top = MARGIN + (tallest - len(ids)) * (NODE_H + GAP_Y) // 2
        for row, node_id in enumerate(ids):
            node = defn.nodes[node_id]
            nodes[node_id] = DiagramNode(
                id=node_id,
                label=localized(node.name, node_id),
                type=node.type,
                status=_status(node, current, passed),
                x=MARGIN + column * (NODE_W + GAP_X),
                y=top + row * (NODE_H + GAP_Y),
            )
    edges = [
        _edge(nodes[t.source], nodes[t.target], t.index in back, height) for t in defn.transitions
    ]
    width = MARGIN * 2 + len(columns) * NODE_W + (len(columns) - 1) * GAP_X
    return Diagram(nodes=list(nodes.values()), edges=edges, width=width, height=height)


def _passed(defn: engine.Definition, visited: set[str], back: set[int], status: str) -> set[str]:
    """Nodes the ticket went through. The engine records human nodes only; a gateway counts
    as passed when a node after it (following forward lines) was reached."""
    passed = set(visited)
    if status == "finished":
        passed |= {node.id for node in defn.nodes.values() if node.type == "end"}
    changed = True
    while changed:
        changed = False
        for line in defn.transitions:
            gateway = not defn.nodes[line.source].human
            if gateway and line.index not in back and line.target in passed:
                changed |= line.source not in passed
                passed.add(line.source)
    return passed


def _status(node: engine.Node, current: set[str], passed: set[str]) -> str:
    if node.id in current:
        return "current"
    return "done" if node.id in passed else "pending"


def _edge(source: DiagramNode, target: DiagramNode, back: bool, height: int) -> DiagramEdge:
    if back:  # under the diagram, from the bottom of the source to the bottom of the target
        low = height - 8
        sx, sy, tx, ty = source.cx, source.y + NODE_H, target.cx, target.y + NODE_H
        return DiagramEdge(f"M{sx},{sy} C{sx},{low} {tx},{low} {tx},{ty + 6}", back=True)
    sx, sy = source.x + NODE_W, source.cy
    tx, ty = target.x - 6, target.cy
    mid = (sx + tx) // 2
    return DiagramEdge(f"M{sx},{sy} C{mid},{sy} {mid},{ty} {tx},{ty}", back=False)
