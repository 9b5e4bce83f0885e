"""The process diagram's layout and colours, from the definition and the engine state."""

import pytest

from flowdesk.web.diagram import build_diagram

pytestmark = pytest.mark.django_db


def test_layout_and_status_of_a_running_release(submit):
    ticket = submit()
    diagram = build_diagram(ticket.version.definition, ticket.state, ticket.status)
    nodes = {node.id: node for node in diagram.nodes}
    order = ["submit", "test_confirm", "test_passed", "coordinate", "release", "qc_review", "done"]
    assert [nodes[key].x for key in order] == sorted({nodes[key].x for key in order})
    assert {key: nodes[key].status for key in ("submit", "test_confirm", "coordinate")} == {
        "submit": "done",
        "test_confirm": "current",
        "coordinate": "pending",
    }
    assert nodes["test_passed"].status == "pending"  # not reached yet
    assert nodes["test_passed"].shape == "diamond" and nodes["done"].shape == "circle"
    assert [edge.back for edge in diagram.edges].count(True) == 1  # the failed test goes back
    assert diagram.width >= max(node.x for node in diagram.nodes) + 150
