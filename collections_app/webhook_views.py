"""`POST /api/v1/webhooks/github`: GitHub push webhooks (SPEC 13). GitHub signs each delivery
with the shared secret, so the endpoint takes no token; everything else is in
`refresher.triggers.webhooks`."""

from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from refresher.triggers import webhooks
from skillmeat_site.request_id import request_id_of
from skillmeat_site.schema import BAD_REQUEST, error


class WebhookAnswerSerializer(serializers.Serializer):
    """What a handled delivery answers; which keys appear depends on the event."""

    delivery = serializers.CharField(help_text="The X-GitHub-Delivery id.")
    duplicate = serializers.BooleanField(
        required=False, help_text="True when this delivery was already handled."
    )
    pong = serializers.BooleanField(required=False, help_text="True for a `ping`.")
    ignored = serializers.CharField(
        required=False, help_text="The event, when it is not one we act on."
    )

    class Meta:
        ref_name = "WebhookAnswer"


class WebhookPushAcceptedSerializer(serializers.Serializer):
    delivery = serializers.CharField(help_text="The X-GitHub-Delivery id.")
    runs = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="The background runs started, one per collection the push touches.",
    )
    deferred = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="Collections that were busy: the pushed artifacts run right after their "
        "active run.",
    )

    class Meta:
        ref_name = "WebhookPushAccepted"


def _raw_body(request: HttpRequest) -> bytes:
    """The body as sent, read past Django's in-memory upload limit but never over ours."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    webhooks.check_size(declared)
    body = request.read(webhooks.MAX_BODY_BYTES + 1)
    webhooks.check_size(len(body))
    return body


class GitHubWebhookView(APIView):
    """GitHub push webhook: refreshes the artifacts a push touched."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        operation_id="webhooks_github",
        summary="Receive a GitHub webhook delivery",
        auth=[],
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "X-Hub-Signature-256",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="`sha256=` and the hex HMAC-SHA256 of the raw body with the secret.",
            ),
            OpenApiParameter(
                "X-GitHub-Event",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="`push` and `ping` are acted on; other events are ignored.",
            ),
            OpenApiParameter(
                "X-GitHub-Delivery",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Unique per delivery; a delivery already handled does nothing.",
            ),
        ],
        responses={
            200: OpenApiResponse(
                WebhookAnswerSerializer,
                description="A `ping`, an ignored event, or a delivery already handled.",
            ),
            202: OpenApiResponse(
                WebhookPushAcceptedSerializer,
                description="A `push`: background runs were started for the touched artifacts.",
            ),
            400: BAD_REQUEST,
            401: error(
                "The signature is missing, not sha256, or does not match; nothing was queued.",
                "invalid_signature",
                "The X-Hub-Signature-256 signature does not match the payload.",
            ),
            404: error(
                "Webhooks are off (GITHUB_WEBHOOK_SECRET is not set).", "not_found", "Not found."
            ),
            413: error(
                "The payload is larger than 5 MiB.",
                "payload_too_large",
                "The payload is larger than 5 MiB.",
                {"max_bytes": webhooks.MAX_BODY_BYTES},
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """GitHub calls this when a repository receives a push (set it up in the repository's
        Settings → Webhooks with content type `application/json` and the site's
        `GITHUB_WEBHOOK_SECRET`).

        For every collection with `refresh_on_push` that holds artifacts of the pushed
        repository and branch whose path a pushed commit touched, one background run of those
        artifacts starts in the collection's `auto_refresh_mode` (trigger `push`). Nothing is
        read from GitHub while answering.
        """
        webhooks.check_enabled()
        django_request = request._request
        handled = webhooks.handle(
            event=request.headers.get("X-GitHub-Event", ""),
            delivery=request.headers.get("X-GitHub-Delivery", ""),
            body=_raw_body(django_request),
            signature=request.headers.get("X-Hub-Signature-256", ""),
            request_id=request_id_of(request),
        )
        return answer(handled)


def answer(handled: webhooks.PushHandled) -> Response:
    """202 for a push acted on (its runs and deferred collections); 200 for anything else."""
    body: dict[str, object] = {"delivery": handled.delivery}
    if handled.duplicate:
        body["duplicate"] = True
    elif handled.pong:
        body["pong"] = True
    elif handled.ignored_event:
        body["ignored"] = handled.ignored_event
    else:
        body.update(runs=list(handled.runs), deferred=list(handled.deferred))
        return Response(body, status=status.HTTP_202_ACCEPTED)
    return Response(body, status=status.HTTP_200_OK)
