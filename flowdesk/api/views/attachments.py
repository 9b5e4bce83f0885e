"""`/api/v1/attachments/`: upload a file to reference from an `attachment` field; read it back."""

import uuid

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from flowdesk.api.parsers import unstorable
from flowdesk.api.problems import PROBLEM_JSON, ProblemSerializer, problem
from flowdesk.api.serializers import attachments as ser
from flowdesk.api.views.base import ApiViewSet
from flowdesk.tickets.access import access_attachment
from flowdesk.tickets.actions import do_upload_attachment
from flowdesk.tickets.models import Attachment
from flowdesk.tickets.views import attachment_response, upload_too_large

TOO_LARGE = {
    (413, PROBLEM_JSON): OpenApiResponse(
        ProblemSerializer,
        description="Too large (code `too_large`): the request is far over the upload limit "
        "(a file just over it is a 400 on `file`).",
    )
}
DOWNLOAD = {
    (200, "application/octet-stream"): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The content; `Content-Type` is found from the content itself: PNG, JPEG, "
        "GIF, WebP, PDF by their magic numbers, UTF-8 text without NUL as text/plain, anything "
        "else application/octet-stream; `Content-Disposition: attachment`.",
    )
}


class AnyMediaRenderer(renderers.JSONRenderer):
    """Lets a download be asked for with any `Accept`; its errors are still JSON."""

    media_type = "*/*"


@extend_schema(tags=["attachments"])
class AttachmentViewSet(ApiViewSet):
    serializer_class = ser.AttachmentSerializer
    queryset = Attachment.objects.none()
    parser_classes = [MultiPartParser]
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"

    def get_object(self) -> Attachment:
        try:
            pk = uuid.UUID(self.kwargs["pk"])
        except ValueError:
            raise Http404(f"No attachment {self.kwargs['pk']}.") from None
        return access_attachment(self.caller, pk)

    @extend_schema(
        summary="Upload a file; reference its id in an attachment field",
        request={"multipart/form-data": ser.AttachmentUploadSerializer},
        responses={201: ser.AttachmentSerializer, **TOO_LARGE},
    )
    def create(self, request: Request) -> Response:
        if reason := upload_too_large(request):
            return problem(413, reason, "too_large")
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError(
                {"file": ["Send the file as the multipart part 'file'."]}
            )
        if unstorable(upload.name):
            raise exceptions.ValidationError({"file": ["The file name cannot be stored."]})
        attachment = do_upload_attachment(upload, actor=self.caller)
        body = self.get_serializer(attachment).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    @extend_schema(summary="An uploaded file's name, size and checksum")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="The file's content", responses=DOWNLOAD)
    @action(detail=True, methods=["get"], renderer_classes=[AnyMediaRenderer])
    def download(self, request: Request, pk: str) -> FileResponse:
        return attachment_response(self.get_object())
