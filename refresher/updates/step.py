"""The review step of a run (SPEC 17): between deciding what to write and recording it.

For every artifact whose content changed upstream it scans the new version against the stored
one, asks the gate whether the run may take it, and notes what the pending-updates table must
hold afterwards: a proposal with its commits, diff, files and findings for content that was not
taken, nothing for content that was taken or for an artifact that is current. It reads upstream
only for those artifacts (`Provider.inspect`, `Provider.history`), with no transaction open;
`refresher.updates.record` writes its result in the run's apply transaction.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from django.utils import timezone

from collections_app.models import Artifact, Collection
from refresher.evaluate import CONTENT, Decision, main_document
from refresher.exceptions import MetadataError
from refresher.models import Mode, PendingUpdate, ProposalState, RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.review.diff import CommitSummary, FileChange, changed_files, unified_diff
from refresher.review.execution import Document
from refresher.review.findings import Finding, Version, scan
from refresher.review.gate import Policy, Verdict, verdict
from refresher.updates.verdicts import judged, with_findings
from refresher.upstream.inspect import History, HistoryAsk, Inspect, Inspection, is_directory
from refresher.upstream.reads import Target, UpstreamRead

REVIEWED_TRIGGERS = frozenset({Trigger.SCHEDULE, Trigger.PUSH})


class Inspector(Protocol):
    """What the step needs of the providers (the engine routes each ask by its source's kind)."""

    def inspect(self, asks: Sequence[Inspect]) -> Mapping[uuid.UUID, Inspection]: ...

    def history(self, asks: Sequence[HistoryAsk]) -> Mapping[uuid.UUID, History]: ...


@dataclass(frozen=True, slots=True)
class Proposal:
    """A row of the pending-updates table as a run writes it."""

    artifact_id: uuid.UUID
    current_sha: str
    current_content_sha: str
    upstream_sha: str
    upstream_content_sha: str
    main_file: str
    commits: list[CommitSummary]
    commits_truncated: bool
    diff: str
    diff_truncated: bool
    files: list[FileChange]
    files_truncated: bool
    findings: list[Finding]


@dataclass(frozen=True, slots=True)
class Reviewed:
    """The step's answer: the decisions as judged, and what the pending-updates table becomes.

    `proposals` are written as pending; `settled` lose theirs if their content was written or
    upstream holds what they hold (`refresher.updates.record` checks which, in the transaction).
    """

    decisions: list[Decision]
    proposals: list[Proposal] = field(default_factory=list)
    settled: list[uuid.UUID] = field(default_factory=list)


def policy_for(collection: Collection, run: RefreshRun, options: RefreshOptions) -> Policy:
    return Policy(
        review=collection.review_updates and run.trigger in REVIEWED_TRIGGERS,
        min_age=timedelta(hours=collection.min_update_age_hours),
        block=collection.block_findings,
        accept_findings=options.accept_findings,
    )


@dataclass(frozen=True, slots=True)
class _Candidate:
    artifact: Artifact
    target: Target
    read: UpstreamRead
    decision: Decision
    approved: bool


def _candidates(
    artifacts: Sequence[Artifact],
    targets: Mapping[uuid.UUID, Target],
    reads: Mapping[uuid.UUID, UpstreamRead],
    decisions: Sequence[Decision],
    options: RefreshOptions,
) -> list[_Candidate]:
    """Artifacts whose content changed: a sync's content change, or an update another run
    found (not for a pinned artifact, which no sync moves)."""
    by_id = {a.id: a for a in artifacts}
    out = []
    for decision in decisions:
        read = reads.get(decision.artifact_id)
        if read is None or not decision.read:
            continue
        updated = bool(decision.update_available) and not read.pinned
        if CONTENT in decision.changes or updated:
            approved = bool(options.reviewed_commit(decision.artifact_id))
            artifact = by_id[decision.artifact_id]
            out.append(_Candidate(artifact, targets[artifact.id], read, decision, approved))
    return out


def review(
    *,
    run: RefreshRun,
    collection: Collection,
    options: RefreshOptions,
    artifacts: Sequence[Artifact],
    targets: Mapping[uuid.UUID, Target],
    reads: Mapping[uuid.UUID, UpstreamRead],
    decisions: list[Decision],
    inspector: Inspector,
) -> Reviewed:
    """Judge each changed artifact's new content; what to record of it."""
    candidates = _candidates(artifacts, targets, reads, decisions, options)
    settled = [d.artifact_id for d in decisions if d.read and d.update_available is False]
    if not candidates:
        return Reviewed(decisions, settled=settled)
    policy = policy_for(collection, run, options)
    texts = _stored_texts([c.artifact for c in candidates])
    ids = [c.artifact.id for c in candidates]
    existing = {p.artifact_id: p for p in PendingUpdate.objects.filter(artifact_id__in=ids)}
    looked = inspector.inspect(
        [
            Inspect(
                c.artifact.id,
                c.artifact.type,
                c.target.source,
                base=c.artifact.resolved_sha,
                head=c.read.tracked_sha,
                dates=policy.needs_dates and not c.approved,
            )
            for c in candidates
        ]
    )
    judge = _Judge(policy, options, now=timezone.now())
    changed: dict[uuid.UUID, Decision] = {}
    wanted: list[tuple[_Candidate, list[Finding], Inspection]] = []
    for c in candidates:
        seen = looked.get(c.artifact.id) or Inspection()
        findings = _findings(c, texts.get(c.artifact.id, ""), seen)
        decision, propose, settle = judge(c, findings, seen, existing.get(c.artifact.id))
        changed[c.artifact.id] = decision
        if propose:
            wanted.append((c, findings, seen))
        if settle:
            settled.append(c.artifact.id)
    proposals = _proposals(wanted, texts, inspector)
    final = [changed.get(d.artifact_id, d) for d in decisions]
    return Reviewed(final, proposals=proposals, settled=settled)


class _Judge:
    """The verdict on one candidate, and what follows from it for its entry and proposal."""

    def __init__(self, policy: Policy, options: RefreshOptions, *, now: datetime) -> None:
        self.policy = policy
        self.takes = options.mode == Mode.SYNC  # a sync takes content (a dry one says it would)
        self.records = not options.dry_run  # a dry run writes nothing but its record
        self.now = now

    def __call__(
        self,
        c: _Candidate,
        findings: list[Finding],
        seen: Inspection,
        previous: PendingUpdate | None,
    ) -> tuple[Decision, bool, bool]:
        """(the judged decision, propose it, settle its proposal)."""
        outcome = verdict(
            self.policy,
            approved=c.approved,
            committed_at=seen.committed_at,
            findings=findings,
            now=self.now,
        )
        same = previous is not None and previous.upstream_content_sha == c.read.tracked_path_sha
        rejected = same and previous is not None and previous.state == ProposalState.REJECTED
        decision = c.decision
        if CONTENT in decision.changes:
            decision = with_findings(decision, findings)
        taken = self.takes and outcome is Verdict.TAKE
        if self.takes or outcome is Verdict.TOO_NEW or self.policy.review:
            decision = judged(decision, outcome, rejected=rejected, takes=self.takes)
        propose = self.records and not taken and outcome.proposes and not same
        return decision, propose, taken


def _stored_texts(artifacts: Sequence[Artifact]) -> dict[uuid.UUID, str]:
    """The content each artifact holds (one query, unless the run read it with the artifacts)."""
    if all("content" in a.__dict__ for a in artifacts):
        return {a.id: a.content for a in artifacts}
    rows = Artifact.objects.filter(pk__in=[a.id for a in artifacts]).values_list("pk", "content")
    return dict(rows)


def _findings(candidate: _Candidate, old_text: str, seen: Inspection) -> list[Finding]:
    artifact, read = candidate.artifact, candidate.read
    directory = is_directory(artifact.type, candidate.target.source.path)
    new_text = (read.data or b"").decode("utf-8-sig", errors="replace")
    try:
        # The run parsed it already (evaluate keeps recent parses): the scan need not again.
        meta: Document | None = main_document(artifact.type, read.main_file, read.data or b"").meta
    except MetadataError:
        meta = None
    files = seen.head_files if directory else None
    new = Version(artifact.type, read.main_file, new_text, files, meta)
    if not artifact.content_sha:
        return scan(None, new)  # a first version: everything in it is new
    old = Version(artifact.type, read.main_file, old_text, seen.base_files if directory else None)
    return scan(old, new)


def _proposals(
    wanted: list[tuple[_Candidate, list[Finding], Inspection]],
    texts: Mapping[uuid.UUID, str],
    inspector: Inspector,
) -> list[Proposal]:
    """Proposals for content not proposed before, with the commits that brought it."""
    asks = [
        HistoryAsk(c.artifact.id, c.target.source, c.artifact.resolved_sha, c.read.tracked_sha)
        for c, _, _ in wanted
        if c.artifact.resolved_sha
    ]
    histories = inspector.history(asks) if asks else {}
    out = []
    for c, findings, seen in wanted:
        history = histories.get(c.artifact.id) or History(truncated=bool(c.artifact.resolved_sha))
        new_text = (c.read.data or b"").decode("utf-8-sig", errors="replace")
        diff = unified_diff(
            texts.get(c.artifact.id, ""),
            new_text,
            old_path=c.read.main_file,
            new_path=c.read.main_file,
        )
        files, files_cut = (
            changed_files(seen.base_files, seen.head_files)
            if seen.head_files is not None
            else ([], True)
        )
        out.append(
            Proposal(
                artifact_id=c.artifact.id,
                current_sha=c.artifact.resolved_sha,
                current_content_sha=c.artifact.content_sha,
                upstream_sha=c.read.tracked_sha,
                upstream_content_sha=c.read.tracked_path_sha,
                main_file=c.read.main_file,
                commits=list(history.commits),
                commits_truncated=history.truncated,
                diff=diff.text,
                diff_truncated=diff.truncated,
                files=files,
                files_truncated=files_cut,
                findings=findings,
            )
        )
    return out
