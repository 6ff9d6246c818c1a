"""The shapes of reviewing updates (SPEC 17): a pending update, and what approve/reject take."""

from rest_framework import serializers

from collections_app.fields import StrictBooleanField, StrictUUIDField
from collections_app.refresh_serializers import StrictKeysSerializer
from refresher.models import PendingUpdate
from refresher.updates.proposals import Choice

SEVERITIES = [("high", "high"), ("medium", "medium"), ("low", "low")]
FINDING_CODES = [
    (code, code)
    for code in (
        "hidden_unicode",
        "hook_command",
        "mcp_command_changed",
        "tools_widened",
        "script_changed",
        "new_url_host",
    )
]


class FindingSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=FINDING_CODES)
    severity = serializers.ChoiceField(choices=SEVERITIES)
    path = serializers.CharField(help_text="The file, as a path in the repository.")
    line = serializers.IntegerField(
        allow_null=True, help_text="1-based line in the new text; null where none applies."
    )
    message = serializers.CharField()

    class Meta:
        ref_name = "Finding"


class CommitSerializer(serializers.Serializer):
    sha = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    author = serializers.CharField(allow_blank=True)
    date = serializers.CharField(help_text="Committer date, ISO 8601 UTC.")

    class Meta:
        ref_name = "UpdateCommit"


class ChangedFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[("added", "added"), ("modified", "modified"), ("removed", "removed")]
    )

    class Meta:
        ref_name = "ChangedFile"


class PendingUpdateSerializer(serializers.ModelSerializer[PendingUpdate]):
    """An update upstream offers for one artifact, with what a reviewer needs to judge it."""

    artifact_id = serializers.UUIDField()
    type = serializers.CharField(source="artifact.type")
    name = serializers.CharField(source="artifact.name")
    run_id = serializers.UUIDField(
        allow_null=True, help_text="The run that found the update (null once it is deleted)."
    )
    commits = CommitSerializer(
        many=True,
        help_text="Commits between the two that touch the artifact's path, newest first "
        "(at most 20).",
    )
    diff = serializers.CharField(
        allow_blank=True, help_text="Unified diff of the main file (see `diff_truncated`)."
    )
    files = ChangedFileSerializer(many=True, help_text="Files changed under the artifact.")
    findings = FindingSerializer(many=True)

    class Meta:
        model = PendingUpdate
        ref_name = "PendingUpdate"
        fields = [
            "artifact_id",
            "type",
            "name",
            "main_file",
            "current_sha",
            "upstream_sha",
            "found_at",
            "run_id",
            "commits",
            "commits_truncated",
            "diff",
            "diff_truncated",
            "files",
            "files_truncated",
            "findings",
        ]
        extra_kwargs = {
            "current_sha": {"help_text": "The commit the artifact's content came from."},
            "upstream_sha": {
                "help_text": "The commit proposed; an approval takes exactly this one."
            },
            "diff_truncated": {
                "help_text": "The diff was cut (over 5,000 lines or 256 KiB), or the texts "
                "were too long to compare line by line."
            },
        }


class ReviewRequestSerializer(StrictKeysSerializer):
    """Which pending updates: `artifact_ids`, or `all: true` (one of the two)."""

    artifact_ids = serializers.ListField(
        child=StrictUUIDField(), required=False, min_length=1, max_length=10000
    )
    all = StrictBooleanField(required=False, help_text="Every update waiting for review.")

    class Meta:
        # Request components get a "Request" suffix: this one is "ReviewRequest".
        ref_name = "Review"

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if bool(attrs.get("artifact_ids")) == bool(attrs.get("all")):
            raise serializers.ValidationError(
                {"artifact_ids": ["Give either `artifact_ids` or `all: true`."]}
            )
        return attrs

    def to_choice(self) -> Choice:
        data = self.validated_data
        return Choice(artifact_ids=tuple(data.get("artifact_ids") or ()), all=bool(data.get("all")))


class ApproveRequestSerializer(ReviewRequestSerializer):
    """Which pending updates to take, and whether to take them despite their findings."""

    accept_findings = StrictBooleanField(
        default=False,
        help_text="Take the content even where the collection's `block_findings` would hold "
        "it back.",
    )
    background = StrictBooleanField(default=False, help_text="Run in a task worker (202).")

    class Meta:
        ref_name = "Approve"


class RejectedSerializer(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    type = serializers.CharField(source="artifact.type")
    name = serializers.CharField(source="artifact.name")
    upstream_sha = serializers.CharField()

    class Meta:
        ref_name = "RejectedUpdate"


class RejectResponseSerializer(serializers.Serializer):
    rejected = RejectedSerializer(many=True)

    class Meta:
        ref_name = "RejectResponse"
