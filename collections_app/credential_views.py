"""`/api/v1/credentials/`: the credentials a user holds for private sources (SPEC 16).

Each user sees and edits only their own, staff included: a credential is someone's key to their
team's private repositories, and the API is how scripts act for one user. Staff manage every
user's credentials in the admin, which never shows a secret either.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from collections_app.credential_serializers import (
    NEW_CREDENTIAL,
    CredentialDetailSerializer,
    CredentialSerializer,
    CredentialTestRequestSerializer,
    CredentialTestResponseSerializer,
    NewCredentialSerializer,
)
from collections_app.models import Credential
from collections_app.paths import UUID_PATH
from collections_app.refresh_serializers import body_object
from collections_app.refresh_views import RefreshThrottle
from refresher.credential_check import check_credential
from refresher.exceptions import CredentialsDisabled
from refresher.secrets import credentials_enabled
from skillmeat_site.schema import BODY_REQUIRED, THROTTLED, error

CREDENTIAL_NAME_TAKEN = error(
    "You already have a credential with this name.",
    "already_exists",
    "You already have a credential with this name.",
    {"name": ["You already have a credential with this name."]},
)
CREDENTIALS_DISABLED = error(
    "The request is not valid (`invalid_request`, `details` maps each field to its messages), "
    "or the site stores no credentials because CREDENTIAL_KEYS is not set "
    "(`credentials_disabled`, `details.setting` names it).",
    "credentials_disabled",
    "This site stores no credentials: CREDENTIAL_KEYS is not set. An operator sets it to a "
    "Fernet key (see .env.example) to enable them.",
    {"setting": "CREDENTIAL_KEYS"},
)
WRITE_RESPONSES: dict[int, OpenApiResponse] = {400: CREDENTIALS_DISABLED}


@extend_schema_view(
    list=extend_schema(summary="List your credentials"),
    create=extend_schema(
        summary="Store a credential",
        request=NEW_CREDENTIAL,
        responses={
            201: OpenApiResponse(
                CredentialSerializer, description="Stored; the secret is not shown again."
            ),
            **WRITE_RESPONSES,
        },
    ),
    retrieve=extend_schema(summary="Read a credential (never its secret)"),
    update=extend_schema(
        summary="Replace a credential", responses={200: CredentialSerializer, **WRITE_RESPONSES}
    ),
    partial_update=extend_schema(
        summary="Edit a credential or replace its secret",
        responses={200: CredentialSerializer, **WRITE_RESPONSES},
    ),
    destroy=extend_schema(summary="Delete a credential; collections stop reading with it"),
)
class CredentialViewSet(viewsets.ModelViewSet):
    """Your credentials for private repositories: GitHub tokens, GitHub Apps, git host logins.

    Secrets are write-only: stored encrypted, never shown again (answers show a `fingerprint`).
    A collection lists the credentials it reads with (`credentials` on the collection).
    """

    serializer_class = CredentialSerializer
    lookup_value_regex = UUID_PATH
    openapi_conflict = CREDENTIAL_NAME_TAKEN
    ordering_fields = ["name", "kind", "created_at", "last_used_at"]

    def get_serializer_class(self) -> type[CredentialSerializer]:
        if self.action == "create":
            return NewCredentialSerializer
        return CredentialDetailSerializer if self.action == "retrieve" else CredentialSerializer

    def get_queryset(self) -> QuerySet[Credential]:
        # Staff too see only their own here (see the module's docstring).
        return Credential.objects.filter(owner=self.request.user.pk).order_by("name", "id")

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        # Before anything is validated: without keys, nothing could be stored whatever was sent.
        if not credentials_enabled():
            raise CredentialsDisabled()
        return super().create(request, *args, **kwargs)

    # One body of NEW_CREDENTIAL is required: the document says so, as the server does.
    setattr(create, BODY_REQUIRED, True)

    def perform_create(self, serializer: BaseSerializer[Credential]) -> None:
        serializer.save(owner=self.request.user)

    @extend_schema(
        operation_id="credentials_test",
        summary="Try a credential upstream",
        request=CredentialTestRequestSerializer,
        responses={
            200: OpenApiResponse(
                CredentialTestResponseSerializer,
                description="What upstream said: `ok` false (with why in `detail`) when it "
                "refused the credential or it cannot read the repository named.",
            ),
            429: THROTTLED,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        throttle_classes=[RefreshThrottle],
        serializer_class=CredentialTestRequestSerializer,
    )
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Ask upstream whether it takes the credential, without refreshing anything.

        A GitHub token is asked who it is (`login`); a GitHub App whether GitHub takes its key
        (`app`) and, with an `installation_id`, for a token of that installation; a git login
        lists the refs of a repository of its host. With a `source`, the credential is also
        tried on that repository. The secret is never part of the answer.
        """
        credential = self.get_object()
        body = CredentialTestRequestSerializer(data=body_object(request))
        body.is_valid(raise_exception=True)
        result = check_credential(credential, source=body.validated_data.get("source", ""))
        return Response(CredentialTestResponseSerializer(result).data)
