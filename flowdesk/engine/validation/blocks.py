"""Parallel blocks: each parallel_split opens a block that its own parallel_join closes; branches
stay apart until the join, and a return never jumps into a sibling branch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .problems import article

if TYPE_CHECKING:  # graph imports this module
    from .context import Doc
    from .graph import Graph

_EXIT = "\0exit"  # the virtual node after every end, for post-dominators


def _dominator_tree(root: str, succ: dict[str, list[str]]) -> dict[str, str]:
    """Immediate dominators of the nodes reachable from `root` (Cooper, Harvey and Kennedy):
    every path from `root` to a node passes its dominators."""
    order, seen, stack = [], {root}, [(root, iter(succ[root]))]
    while stack:  # depth-first, to number the nodes in reverse postorder
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            order.append(node)
            stack.pop()
        elif child not in seen:
            seen.add(child)
            stack.append((child, iter(succ[child])))
    order.reverse()
    rank = {node: i for i, node in enumerate(order)}
    preds: dict[str, list[str]] = {node: [] for node in order}
    for node in order:
        for child in succ[node]:
            preds[child].append(node)
    idom = {root: root}
    changed = True
    while changed:
        changed = False
        for node in order[1:]:
            new = None
            for pred in (p for p in preds[node] if p in idom):
                new = pred if new is None else _meet(pred, new, idom, rank)
            if new is not None and idom.get(node) != new:
                idom[node], changed = new, True
    return idom


def _meet(a: str, b: str, idom: dict[str, str], rank: dict[str, int]) -> str:
    while a != b:
        while rank[a] > rank[b]:
            a = idom[a]
        while rank[b] > rank[a]:
            b = idom[b]
    return a


def _dominated(node: str, by: str, idom: dict[str, str]) -> bool:
    while node != by:
        if idom.get(node, node) == node:
            return False
        node = idom[node]
    return True


def check_blocks(d: Doc, g: Graph) -> None:
    """Every parallel_split opens a block that its own parallel_join closes (nesting allowed)."""
    order = list(g.kind)
    splits = [n for n in order if g.kind[n] == "parallel_split"]
    if not splits and "parallel_join" not in g.kind.values():
        return
    assert g.start is not None
    dom = _dominator_tree(g.start, {n: g.succ(n) for n in order})
    ends = [n for n in order if g.kind[n] == "end"]
    post = _dominator_tree(_EXIT, {_EXIT: ends, **{n: g.pred(n) for n in order}})
    closing = {split: post.get(split) for split in splits}
    if not all([_closes(d, g, split, join) for split, join in closing.items()]):
        return
    if not _check_join_matches(d, g, closing):
        return
    contexts: dict[str, list[tuple[int, str, int]]] = {n: [] for n in order}
    sound = True
    for split, join in closing.items():
        assert join is not None
        inside = {n for n in order if _dominated(n, split, dom) and _dominated(n, join, post)} - {
            split,
            join,
        }
        sound &= _block_edges(d, g, split, join, inside)
        sound &= _branches(d, g, split, join, inside, contexts)
    if sound:
        _check_return_branches(d, g, contexts)


def _closes(d: Doc, g: Graph, split: str, join: str | None) -> bool:
    if join is None or join == _EXIT or g.kind[join] == "end":
        d.add(g.loc(split), "its branches do not all meet at one parallel_join before an end")
        return False
    if g.kind[join] != "parallel_join":
        d.add(
            g.loc(split),
            f"its branches first meet at '{join}' ({article(g.kind[join])} node) instead of at a "
            "parallel_join",
        )
        return False
    return True


def _check_join_matches(d: Doc, g: Graph, closing: dict[str, str | None]) -> bool:
    sound = True
    for join in [n for n in g.kind if g.kind[n] == "parallel_join"]:
        splits = [split for split, closer in closing.items() if closer == join]
        if not splits:
            d.add(g.loc(join), "no parallel_split opens a block that this join closes")
        elif len(splits) > 1:
            d.add(
                g.loc(join),
                f"closes the branches of several parallel_splits ({', '.join(splits)}); "
                "give each its own parallel_join",
            )
        sound &= len(splits) == 1
    return sound


def _block_edges(d: Doc, g: Graph, split: str, join: str, inside: set[str]) -> bool:
    """No transition crosses the block's border except into the split and out of the join."""
    sound, opened = True, inside | {split}
    block = f"the parallel block from '{split}' to '{join}'"
    for node_id, ways in g.outs.items():
        for i, item in ways:
            target = item["to"]
            if node_id in opened and target not in inside and target != join:
                d.add(
                    ("transitions", i),
                    f"leaves {block}: '{target}' is not inside it (a branch must stay in the "
                    "block until the join, and nothing outside may lead into a branch)",
                )
            elif node_id not in opened and (target in inside or target == join):
                d.add(
                    ("transitions", i),
                    f"leads into {block} from outside; only '{split}' starts its branches",
                )
            else:
                continue
            sound = False
    return sound


def _branches(
    d: Doc,
    g: Graph,
    split: str,
    join: str,
    inside: set[str],
    contexts: dict[str, list[tuple[int, str, int]]],
) -> bool:
    regions = []
    for branch, (_, item) in enumerate(g.outs[split]):
        start = item["to"]
        region = g.reach([start], returns=False, within=inside) if start != join else set()
        regions.append((start, region))
        for node_id in region:
            contexts[node_id].append((-len(inside), split, branch))
    sound = True
    for a, (first, mine) in enumerate(regions):
        for second, theirs in regions[a + 1 :]:
            if common := [n for n in g.kind if n in mine & theirs]:
                d.add(
                    g.loc(split),
                    f"the branches to '{first}' and '{second}' meet at "
                    f"'{common[0]}' before the join '{join}'",
                )
                sound = False
        arrivals = sum(1 for _, item in g.ins[join] if item["from"] in mine) if mine else 1
        if arrivals != 1:
            d.add(
                g.loc(split),
                f"the branch to '{first}' reaches the join '{join}' by {arrivals} "
                "transitions, and the join waits for a token on each; let the paths of a "
                "branch meet (e.g. at a task) before the join",
            )
            sound = False
    return sound


def _check_return_branches(
    d: Doc, g: Graph, contexts: dict[str, list[tuple[int, str, int]]]
) -> None:
    """A return may go back within its branch or out of its block, not into a sibling branch."""
    for node_id, target in g.returns.items():
        here, there = sorted(contexts[node_id]), sorted(contexts[target])
        for mine, theirs in zip(here, there, strict=False):
            if mine != theirs:
                d.add(
                    g.return_loc(node_id),
                    f"'{target}' lies in another branch of the parallel block that '{theirs[1]}' "
                    "opens; a return can go back within its branch or out of the block",
                )
                break
