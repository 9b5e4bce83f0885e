"""Every API error as `application/problem+json` (RFC 9457) with a machine-readable `code`.

One exception handler maps the service layer's refusals (engine errors, Django's
ValidationError and PermissionDenied, Http404, WorkflowInvalid) and DRF's own exceptions to a
status and a body: `{type, title, status, detail, code}` plus `errors` ({field: [messages]}) for
validation and `problems` ([{path, message}]) for workflow documents.
"""

from collections.abc import Iterable
from http import HTTPStatus

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flowdesk.engine import EngineError, InvalidTarget, InvalidValues
from flowdesk.workflows.actions import WorkflowInvalid

PROBLEM_JSON = "application/problem+json"

# Engine error code → (HTTP status, problem code).
ENGINE_ERRORS = {
    "invalid": (400, "invalid"),
    "forbidden": (403, "forbidden"),
    "separation_of_duties": (403, "separation_of_duties"),
    "conflict": (409, "conflict"),
    "stuck": (409, "conflict"),
    "no_operator": (422, "no_operator"),
}
# DRF exception codes renamed to the API's vocabulary.
DRF_CODES = {
    "authentication_failed": "not_authenticated",
    "permission_denied": "forbidden",
    "parse_error": "invalid",
}


def problem_body(status: int, detail: str, code: str, **extra: object) -> dict:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem(status: int, detail: str, code: str, **extra: object) -> Response:
    return Response(problem_body(status, detail, code, **extra), status, content_type=PROBLEM_JSON)


def invalid(errors: dict[str, list[str]], detail: str | None = None) -> Response:
    summary = " ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
    return problem(400, detail or f"Please correct the values. {summary}", "invalid", errors=errors)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, WorkflowInvalid):
        problems = [{"path": p.path, "message": p.message} for p in exc.problems]
        detail = f"The workflow document has {len(problems)} problem(s): {exc.problems[0]}"
        return problem(400, detail, "invalid", problems=problems)
    if isinstance(exc, InvalidValues):
        return invalid(exc.errors, exc.message)
    if isinstance(exc, InvalidTarget):
        return invalid({"target": [exc.message]}, exc.message)
    if isinstance(exc, EngineError):
        status, code = ENGINE_ERRORS.get(exc.code, (422, exc.code))
        return problem(status, exc.message, code)
    if isinstance(exc, ValidationError):
        return invalid(_django_errors(exc))
    if isinstance(exc, PermissionDenied):
        return problem(403, str(exc) or "You may not do this.", "forbidden")
    if isinstance(exc, Http404):
        return problem(404, str(exc) or "Not found.", "not_found")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let it be a 500 and show in the logs
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        return _with_headers(invalid(errors), response)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response.status_code = 401  # also when no authenticator offers a challenge
    code = DRF_CODES.get(exc.default_code, exc.default_code)
    return _with_headers(problem(response.status_code, str(exc.detail), code), response)


def _with_headers(new: Response, old: Response) -> Response:
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in old:
            new[header] = old[header]
    return new


def _django_errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: list(messages) for field, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def flatten_errors(detail: object, path: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as {"fields.package_md5": ["..."]}."""
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for key, value in detail.items():
            errors.update(flatten_errors(value, f"{path}.{key}" if path else str(key)))
        return errors
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        errors = {}
        for i, item in enumerate(detail):
            errors.update(flatten_errors(item, f"{path}[{i}]"))
        return errors
    messages = [str(m) for m in detail] if isinstance(detail, list) else [str(detail)]
    return {path or "non_field_errors": messages} if messages else {}


@csrf_exempt  # token clients send no CSRF token; they must get the 404, not a CSRF page
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown URLs under /api/ answer a problem too, not the HTML 404 page."""
    body = problem_body(404, f"No API endpoint at {request.path}.", "not_found")
    return JsonResponse(body, status=404, content_type=PROBLEM_JSON)


# --- the schema side ----------------------------------------------------------------------------


class PathProblemSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Where in the document, e.g. `nodes[3].approval`.")
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """An error (RFC 9457)."""

    type = serializers.CharField(help_text="`about:blank`: the status and `code` say it all.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong, as a sentence for a person.")
    code = serializers.CharField(
        help_text="invalid, not_authenticated, forbidden, separation_of_duties, not_found, "
        "conflict, no_operator, "
        "method_not_allowed, unsupported_media_type, not_acceptable"
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation only: messages per field (`fields.<key>` for field values).",
    )
    problems = PathProblemSerializer(
        many=True, required=False, help_text="Workflow documents only: every problem found."
    )


PROBLEM_DESCRIPTIONS = {
    400: "Invalid input (code `invalid`): `errors` per field, or `problems` for documents.",
    401: "Not authenticated (code `not_authenticated`): send `Authorization: Token <token>`.",
    403: "Not allowed (code `forbidden`, or `separation_of_duties` when the caller handled a "
    "step kept apart from this one or requested the ticket).",
    404: "Not found, or not visible to the caller (code `not_found`).",
    405: "Method not allowed.",
    409: "Conflict (code `conflict`): the task was already handled (by whom, when), or the "
    "ticket's status does not allow the action.",
    415: "Unsupported media type: send `application/json`.",
    422: "No operator (code `no_operator`): a step this action reaches has nobody to handle it.",
}


def problem_responses(statuses: Iterable[int]) -> dict:
    """extend_schema `responses` entries documenting problem bodies for these statuses."""
    return {
        (status, PROBLEM_JSON): OpenApiResponse(
            ProblemSerializer, description=PROBLEM_DESCRIPTIONS[status]
        )
        for status in statuses
    }
