"""The OpenAPI schema: every operation documents its problem responses."""

from drf_spectacular.openapi import AutoSchema

from flowdesk.api.problems import problem_responses

# Any operation can answer these: bad query or path text, no credentials, a failed CSRF check
# or a missing right, an unknown or invisible object (or an unknown cursor).
COMMON_PROBLEMS = (400, 401, 403, 404)
# ...and operations with a body a wrong content type.
BODY_PROBLEMS = (415,)


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        statuses = COMMON_PROBLEMS + (BODY_PROBLEMS if self.method in ("POST", "PUT") else ())
        for (status, media), response in problem_responses(statuses).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    response, str(status), [media], direction
                )
        return responses
