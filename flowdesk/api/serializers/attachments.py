"""Uploaded files: what the API says of one, and the upload's multipart body."""

from rest_framework import serializers
from rest_framework.reverse import reverse

from flowdesk.tickets.models import Attachment


class AttachmentSerializer(serializers.Serializer):
    """A stored file; its `id` is what an `attachment` field's value lists."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="In bytes.")
    sha256 = serializers.CharField(help_text="Hex digest of the content.")
    content_type = serializers.CharField(help_text="As the uploader's client declared it.")
    url = serializers.SerializerMethodField(help_text="Where to download the content.")

    def get_url(self, attachment: Attachment) -> str:
        return reverse(
            "api:attachment-download", kwargs={"pk": attachment.pk}, request=self.context["request"]
        )


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file (at most FLOWDESK_MAX_UPLOAD_MB).")
