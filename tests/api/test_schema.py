"""The OpenAPI schema and its Swagger UI, served from our own static files."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_is_public_and_documents_problems_everywhere(anonymous):
    response = anonymous.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("400", "401", "403", "404"):
                content = responses[status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
    task_complete = schema["paths"]["/api/v1/tasks/{id}/complete/"]["post"]
    assert {"200", "409", "422"} <= set(task_complete["responses"])
    assert [p["name"] for p in task_complete["parameters"]] == ["expand", "id"]
    create = schema["paths"]["/api/v1/tickets/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    ticket_list = schema["paths"]["/api/v1/tickets/"]["get"]
    params = {p["name"] for p in ticket_list["parameters"]}
    assert {"cursor", "q", "status", "mine", "todo", "scope", "created_after"} <= params


def test_swagger_ui_uses_local_assets_only(anonymous):
    response = anonymous.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "//unpkg" not in html
