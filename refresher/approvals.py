"""Approving updates that wait for review (SPEC 17): a `sync` of exactly the chosen artifacts, each
read at the commit that was reviewed, never at a newer head.

Every door (the API, the admin, `manage.py review_updates`) approves here, and the run starts
through the one launch path like any other: inline, or queued when the request asks for the
background or chooses more artifacts than REFRESH_SYNC_MAX_ARTIFACTS.
"""

from collections_app.models import Collection
from refresher.engine import Progress
from refresher.models import Mode
from refresher.options import ArtifactFilter, RefreshOptions
from refresher.runs import Requester
from refresher.service import Launched, launch
from refresher.updates.proposals import Choice, chosen


def approve(
    collection: Collection,
    choice: Choice,
    *,
    trigger: str,
    accept_findings: bool = False,
    background: bool = False,
    inline: bool | None = None,
    deadline_seconds: float | None = None,
    user: Requester = None,
    request_id: str = "",
    progress: Progress | None = None,
) -> Launched:
    """Sync the chosen artifacts at their reviewed commits; the run that does it.

    Raises InvalidRequest for ids with nothing waiting, NothingPending for "all" with nothing
    waiting, and whatever a launch raises (RefreshInProgress when the collection is busy).
    """
    proposals = chosen(collection, choice)
    options = RefreshOptions(
        mode=Mode.SYNC,
        artifact_filter=ArtifactFilter(ids=tuple(p.artifact_id for p in proposals)),
        background=background,
        review_commits=tuple((p.artifact_id, p.upstream_sha) for p in proposals),
        accept_findings=accept_findings,
    )
    return launch(
        collection,
        options,
        trigger=trigger,
        user=user,
        request_id=request_id,
        inline=inline,
        deadline_seconds=deadline_seconds,
        progress=progress,
    )
