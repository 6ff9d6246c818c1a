"""Discovery's view of a GitHub repository, through the same client and HTTP cache as a refresh.

The repository and ref answers are revalidated with their ETags; the recursive tree of the commit
(one request) and the blobs (read in parallel) are addressed by SHA and cached for good.
"""

import base64
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.sources import Source
from refresher.upstream.access import SITE_TOKEN, ReadAs
from refresher.upstream.browse import Snapshot
from refresher.upstream.github.rest import GitHubAPI, UpstreamReader
from refresher.upstream.github.rest_tree import Fetch, tree_kind
from refresher.upstream.github.shapes import RestBlob, RestTree, as_shape
from refresher.upstream.httpcache import HttpCache
from refresher.upstream.reads import Reading, Target
from skillmeat_site.logs import carry_context


class GitHubBrowser(UpstreamReader):
    """Reads a repository's metadata, resolves the ref and lists the commit's whole tree."""

    def __init__(
        self,
        client: GitHubAPI,
        cache: HttpCache,
        *,
        concurrency: int,
        deadline: float | None,
        read_as: ReadAs = SITE_TOKEN,
    ) -> None:
        super().__init__(client, cache, concurrency=concurrency, deadline=deadline, read_as=read_as)

    def snapshot(self, source: Source) -> Snapshot:
        # The repository read as if it were one artifact at its root.
        target = Target(uuid.UUID(int=0), "skill", source.at(""))
        results = {target.id: Reading()}
        with ThreadPoolExecutor(max_workers=self.concurrency, initializer=carry_context()) as pool:
            self._pool, self._started = pool, time.monotonic()
            repos = self._wave_repositories([target], results)
            self._wave_refs([target], results, repos)
            item = results[target.id]
            self._raise(item)
            name = self._name(target)  # the new name, when GitHub says the repository moved
            answers = self._fetch_all(
                {
                    "tree": Fetch(
                        f"/repos/{name}/git/trees/{item.read_sha}", {"recursive": "1"}, True
                    )
                }
            )
        answer = answers["tree"]
        if isinstance(answer, (ReadFailed, ReadSkipped)):
            raise answer
        tree = as_shape(answer, RestTree)
        repository = item.repository or {}
        default_branch = repository.get("default_branch")
        return Snapshot(
            handle=name,
            source=source,
            commit=item.read_sha,
            ref=source.ref or (default_branch if isinstance(default_branch, str) else "") or "main",
            entries={
                e.get("path", ""): (tree_kind(e), e.get("sha", "")) for e in tree.get("tree", [])
            },
            repository=repository,
            truncated=bool(tree.get("truncated")),
        )

    def read_blobs(self, snapshot: Snapshot, shas: Iterable[str]) -> dict[str, bytes | ReadFailed]:
        name = snapshot.handle or snapshot.source.full_name
        wanted = sorted(set(shas))
        with ThreadPoolExecutor(max_workers=self.concurrency, initializer=carry_context()) as pool:
            self._pool = pool
            answers = self._fetch_all(
                {sha: Fetch(f"/repos/{name}/git/blobs/{sha}", None, True) for sha in wanted}
            )
        # Share what was learnt of the quota with the other processes, as a refresh does.
        self.client.quota.sync(final=True)
        out: dict[str, bytes | ReadFailed] = {}
        for sha, answer in answers.items():
            if isinstance(answer, ReadSkipped):
                out[sha] = ReadFailed(answer.reason, answer.message)
            elif isinstance(answer, ReadFailed):
                out[sha] = answer
            else:
                out[sha] = _decode(answer)
        return out

    @staticmethod
    def _raise(item: Reading) -> None:
        if item.error is not None:
            raise item.error
        if item.skipped is not None:
            raise item.skipped


def _decode(answer: object) -> bytes | ReadFailed:
    undecodable = ReadFailed("upstream_unavailable", "GitHub sent an undecodable blob")
    if not isinstance(answer, dict):
        return undecodable
    try:
        return base64.b64decode(as_shape(answer, RestBlob).get("content") or "")
    except (ValueError, TypeError):
        return undecodable
