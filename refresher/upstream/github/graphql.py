"""The GraphQL read plan (SPEC section 10): the REST plan's answers in a handful of requests.

Three rounds of batched, aliased queries, each round's batches sent in parallel:

1. **Repositories and refs.** Per repository its metadata (owner login, license SPDX id, topics),
   its default branch's head, and the head of every other ref its artifacts track (asked as a
   branch and as a tag at once; an annotated tag is peeled).
2. **Listings.** Per (repository, commit, directory) the directory's object id and entries
   (`object(expression: "<commit>:<dir>")`): a directory artifact's own tree, or a file artifact's
   parent. That gives each artifact's tree or blob oid, its main file's blob oid, mode and size.
3. **Texts.** Main-file texts, asked by blob oid, only for blobs never read before; with them,
   the subdirectories of directory artifacts not listed yet, for the review of their files.

What is addressed by a commit or an oid cannot change, so listings are cached per (repository,
commit) and texts per blob oid in the persistent HTTP cache: a warm refresh of an unchanged
collection sends only round 1. A batch that fails as a whole (5xx, timeout, node limit,
complexity) is retried as two halves; what still fails is read through the REST plan. Per-alias
`NOT_FOUND` is an entry error, never a batch failure. Results are the REST plan's, field for
field: the same `UpstreamRead`s, SHAs, reasons and codes.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, cast

from refresher.exceptions import ReadByRest, ReadFailed, ReadSkipped
from refresher.frontmatter import MAX_FILE_BYTES
from refresher.json_types import JSONObject
from refresher.upstream.access import SITE_TOKEN, ReadAs
from refresher.upstream.github.graphql_answers import (
    Listings,
    RepoInfo,
    alias_errors,
    alias_failure,
    file_artifact,
    listing_of,
    listings_key,
    lookup,
    parent_of,
    per_repository,
    plan_listings,
    ref_head,
    repository_dict,
    text_key,
    too_large,
    valid_name,
)
from refresher.upstream.github.graphql_batches import Batches, Build, GraphQLAPI, Parse
from refresher.upstream.github.graphql_queries import (
    ListingAsk,
    RepoAsk,
    TextAsk,
    listings_query,
    repositories_query,
    texts_query,
)
from refresher.upstream.github.shapes import (
    BlobNode,
    GraphQLErrorShape,
    ListingNode,
    PlanListing,
    RefNode,
    RepositoryFields,
    TextAnswer,
    alias,
    node_at,
)
from refresher.upstream.httpcache import CachedAnswer, HttpCache
from refresher.upstream.reads import (
    Reading,
    Target,
    UpstreamRead,
    freeze_all,
    main_file_candidates,
    place_at_refs,
)
from skillmeat_site.logs import carry_context

logger = logging.getLogger("refresher.graphql")

# Batch sizes: at least MIN per query so small runs take few requests, at most MAX so a query's
# server time (about 2 ms per repository, ref, object or text) stays well inside GitHub's 10 s,
# and between the two a run's work is spread over as many queries as it has parallel requests.
REPOS_PER_QUERY = (20, 100)
OBJECTS_PER_QUERY = (50, 500)
TEXTS_PER_QUERY = (50, 300)
TEXT_BYTES_PER_QUERY = 4 * 1024 * 1024


class Reader(Protocol):
    def read(self, targets: list[Target]) -> dict[uuid.UUID, UpstreamRead]: ...


# -- the reader ----------------------------------------------------------------------------------


class GraphQLReader:
    """Reads a run's GitHub targets through GraphQL, handing REST what GraphQL could not read."""

    def __init__(
        self,
        client: GraphQLAPI,
        cache: HttpCache,
        *,
        concurrency: int,
        deadline: float | None = None,
        on_progress: Callable[[int], None] | None = None,
        rest: Callable[[], Reader],
        read_as: ReadAs = SITE_TOKEN,
    ) -> None:
        self.client = client
        self.read_as = read_as
        self.cache = cache
        self.concurrency = max(1, concurrency)
        self.deadline = deadline
        self.on_progress = on_progress
        self.rest = rest
        self._sizes: dict[uuid.UUID, int] = {}  # main-file byte size per target, from its listing
        self._handed: set[uuid.UUID] = set()  # targets handed to the REST plan
        self._renamed: dict[str, str] = {}  # lower-cased name as written -> GitHub's current name
        self._batches: Batches | None = None

    def read(self, targets: Iterable[Target]) -> dict[uuid.UUID, UpstreamRead]:
        targets = list(targets)
        self._started = time.monotonic()
        results = {t.id: Reading() for t in targets}
        fallback: list[Target] = []
        with ThreadPoolExecutor(max_workers=self.concurrency, initializer=carry_context()) as pool:
            self._batches = Batches(
                self.client,
                pool,
                concurrency=self.concurrency,
                deadline=self.deadline,
                read_as=self.read_as,
            )
            repos = self._round_repositories(targets, results, fallback)
            self._resolve_refs(targets, results, repos)
            listings = self._round_listings(targets, results, fallback)
            self._locate(targets, results, listings)
            subdirectories = self._subdirectories(targets, results, listings)
            self._round_texts(targets, results, fallback, subdirectories)
        quota = getattr(self.client, "quota", None)
        if quota is not None:
            # Share what this run learnt of the quota with the other processes.
            quota.sync(final=True)
        reads = freeze_all(results)
        if fallback:
            logger.info(
                "GraphQL could not read %d artifact(s); reading them via REST", len(fallback)
            )
            reads.update(self.rest().read(fallback))
        return reads

    # -- round 1: repositories and refs --------------------------------------------------------

    def _round_repositories(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        fallback: list[Target],
    ) -> dict[str, RepoInfo]:
        wanted: dict[str, tuple[str, str, set[str]]] = {}
        for t in targets:
            key = t.source.full_name.lower()
            refs = wanted.setdefault(key, (t.source.owner, t.source.repo, set()))[2]
            if t.source.ref and not t.source.pinned_to_sha and not t.at_commit:
                refs.add(t.source.ref)
        asks = [
            RepoAsk(key, o, n, tuple(sorted(refs))) for key, (o, n, refs) in sorted(wanted.items())
        ]
        answers = self._send_all(
            asks,
            build=repositories_query,
            parse=self._parse_repositories,
            limits=REPOS_PER_QUERY,
            weight=lambda ask: 1 + 2 * len(ask.refs),
        )
        by_key = {ask.key: answer for ask, answer in answers.items()}
        for key, answer in by_key.items():
            current = str(answer.repository["full_name"]) if isinstance(answer, RepoInfo) else ""
            if current and current.lower() != key and valid_name(current):
                # GitHub answered under the repository's new name: later rounds ask for that.
                self._renamed[key] = current
        repos: dict[str, RepoInfo] = {}
        for t in targets:
            key = t.source.full_name.lower()
            answer = by_key[key]
            private = isinstance(answer, RepoInfo) and answer.repository["private"]
            if private and not self.read_as.private:
                # Read with a token this collection may not borrow: none of it is used.
                message = self.read_as.refuse_private(t.source.full_name)
                answer = ReadFailed("credentials_required", message)
            if isinstance(answer, RepoInfo):
                repos[key] = answer
                results[t.id].repository = answer.repository
                if key in self._renamed:
                    results[t.id].renamed_to = self._renamed[key]
            else:
                self._settle(t, results, answer, fallback)
        return repos

    @staticmethod
    def _parse_repositories(
        asks: Sequence[RepoAsk], data: JSONObject, errors: list[GraphQLErrorShape]
    ) -> dict[RepoAsk, RepoInfo | Exception]:
        by_alias = alias_errors(errors)
        out: dict[RepoAsk, RepoInfo | Exception] = {}
        for i, ask in enumerate(asks):
            node = node_at(data, f"r{i}")
            if node is None:
                out[ask] = alias_failure(by_alias.get(f"r{i}"), f"{ask.owner}/{ask.name}")
                continue
            fields = cast(RepositoryFields, node)
            info = RepoInfo(repository_dict(fields), ref_head(fields.get("defaultBranchRef")))
            for j, ref in enumerate(ask.refs):
                branch = ref_head(cast(RefNode | None, node.get(f"h{i}_{j}")))
                tag = ref_head(cast(RefNode | None, node.get(f"t{i}_{j}")))
                # As in the REST plan: a branch of that name first, then a tag.
                info.refs[ref] = ("branch", branch) if branch else ("tag", tag) if tag else None
            out[ask] = info
        return out

    def _resolve_refs(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        repos: dict[str, RepoInfo],
    ) -> None:
        """Each artifact's commit to read at and commit to track, as the REST plan decides."""
        for t in self._live(targets, results):
            source, item = t.source, results[t.id]
            info = repos[source.full_name.lower()]
            if t.at_commit:
                # An approval: the reviewed commit, taken as the head it was then.
                item.read_sha = item.tracked_sha = t.at_commit
                continue
            if not info.default_head:
                self._fail(
                    item,
                    ReadFailed(
                        "upstream_not_found",
                        f"{source.full_name} has no default branch (the repository is empty)",
                    ),
                )
                continue
            own = None
            if source.ref and not source.pinned_to_sha:
                own = info.refs.get(source.ref)
                if own is None:
                    message = f"no branch or tag named {source.ref!r} in {source.full_name}"
                    self._fail(item, ReadFailed("upstream_not_found", message))
                    continue
            place_at_refs(item, source, default_sha=info.default_head, own=own)

    # -- round 2: listings ---------------------------------------------------------------------

    def _round_listings(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        fallback: list[Target],
    ) -> Listings:
        needed: dict[tuple[str, str, str], list[Target]] = {}
        for t in self._live(targets, results):
            item = results[t.id]
            directory = parent_of(t.source.path)[0] if file_artifact(t) else t.source.path
            for commit in {item.read_sha, item.tracked_sha}:
                needed.setdefault((t.source.full_name.lower(), commit, directory), []).append(t)
        stored = self._load_listings({(repo, commit) for repo, commit, _ in needed})
        listings: Listings = {}
        asks: list[ListingAsk] = []
        for key, users in sorted(needed.items()):
            repo, commit, directory = key
            known = stored.get((repo, commit), {})
            if directory in known:
                listings[key] = known[directory]
            else:
                owner, name = self._address(users[0])
                asks.append(ListingAsk(repo, owner, name, commit, directory))
        answers = self._send_all(
            asks, build=listings_query, parse=self._parse_listings, limits=OBJECTS_PER_QUERY
        )
        fresh: dict[tuple[str, str], dict[str, PlanListing | None]] = {}
        for ask, answer in answers.items():
            key = (ask.repo, ask.commit, ask.directory)
            if isinstance(answer, Exception):
                for t in needed[key]:
                    if self._is_live(results[t.id]) and t.id not in self._handed:
                        self._settle(t, results, answer, fallback)
                continue
            listings[key] = answer
            fresh.setdefault((ask.repo, ask.commit), dict(stored.get((ask.repo, ask.commit), {})))
            fresh[(ask.repo, ask.commit)][ask.directory] = answer
        self._keep_listings(fresh)
        return listings

    def _keep_listings(self, fresh: dict[tuple[str, str], dict[str, PlanListing | None]]) -> None:
        for (repo, commit), dirs in fresh.items():
            # A commit's directories never change: kept for good, added to as runs need more.
            self.cache.put(listings_key(repo, commit), CachedAnswer(dirs, immutable=True))

    def _load_listings(
        self, pairs: set[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, PlanListing | None]]:
        self.cache.prefetch({listings_key(repo, commit) for repo, commit in pairs})
        out = {}
        for repo, commit in pairs:
            cached = self.cache.get(listings_key(repo, commit))
            if cached is not None and isinstance(cached.body, dict):
                out[(repo, commit)] = plan_listings(cached.body)
        return out

    @staticmethod
    def _parse_listings(
        asks: Sequence[ListingAsk], data: JSONObject, errors: list[GraphQLErrorShape]
    ) -> dict[ListingAsk, PlanListing | Exception | None]:
        # A null object is a path that does not exist at that commit: an answer too.
        return per_repository(
            asks,
            data,
            errors,
            lambda node, k, ask: listing_of(alias(node, f"x{k}", ListingNode)),
        )

    def _locate(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        listings: Listings,
    ) -> None:
        """Each artifact's path oid and main file at the commits it needs (as the REST plan)."""
        for t in self._live(targets, results):
            item, name, path = results[t.id], t.source.full_name, t.source.path
            try:
                found = lookup(listings, t, item.read_sha, path)
                if found is None:
                    raise ReadFailed(
                        "upstream_not_found",
                        f"{path!r} does not exist in {name}@{item.read_sha[:7]}",
                    )
                item.read_path_sha = found[1]
                candidates = main_file_candidates(t.type, path)
                for candidate in candidates:
                    main = lookup(listings, t, item.read_sha, candidate)
                    if main and main[0] == "file":
                        item.main_file, item.blob_sha = candidate, main[1]
                        item.data = None
                        self._sizes[t.id] = main[2]
                        break
                    if main and main[0] == "link":
                        raise ReadFailed(
                            "upstream_not_found",
                            f"{candidate} in {name}@{item.read_sha[:7]} is a symbolic link, "
                            "which is not followed",
                        )
                else:
                    raise ReadFailed(
                        "upstream_not_found",
                        f"no {' or '.join(candidates)} in {name}@{item.read_sha[:7]}",
                    )
                if item.tracked_sha == item.read_sha:
                    item.tracked_path_sha = item.read_path_sha
                else:
                    tracked = lookup(listings, t, item.tracked_sha, path)
                    # A path gone from the tracked branch is an update of its own kind.
                    item.tracked_path_sha = tracked[1] if tracked else ""
            except ReadFailed as exc:
                self._fail(item, exc)

    # -- round 3: texts ------------------------------------------------------------------------

    def _round_texts(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        fallback: list[Target],
        subdirectories: list[ListingAsk],
    ) -> None:
        live = self._live(targets, results)
        for t in live:
            if self._sizes.get(t.id, 0) > MAX_FILE_BYTES:
                self._fail(results[t.id], too_large(self._sizes[t.id]))
        live = self._live(targets, results)
        self.cache.prefetch({text_key(results[t.id].blob_sha) for t in live})
        asks: dict[str, TextAsk] = {}
        for t in live:
            oid = results[t.id].blob_sha
            if self.cache.get(text_key(oid)) is None and oid not in asks:
                owner, name = self._address(t)
                asks[oid] = TextAsk(t.source.full_name.lower(), owner, name, oid, self._sizes[t.id])
        texts = sorted(asks.values(), key=lambda a: (a.repo, a.oid))
        ordered: list[TextAsk | ListingAsk] = []
        if texts:
            # Only beside texts: they cost no query of their own (the review asks, else).
            ordered = sorted([*texts, *subdirectories], key=lambda a: a.repo)
        answered = self._send_all(
            ordered,
            build=texts_query,
            parse=self._parse_texts,
            limits=TEXTS_PER_QUERY,
            max_bytes=TEXT_BYTES_PER_QUERY,
        )
        answers = self._keep_subdirectories(answered)
        for ask, text in answers.items():
            if not isinstance(text, Exception) and not text["truncated"]:
                self.cache.put(text_key(ask.oid), CachedAnswer(text, immutable=True))
        for t in live:
            item = results[t.id]
            answer = answers.get(asks[item.blob_sha]) if item.blob_sha in asks else None
            if answer is None:
                cached = self.cache.get(text_key(item.blob_sha))
                answer = _cached_text(cached.body if cached is not None else None)
            if isinstance(answer, Exception):
                self._settle(t, results, answer, fallback)
            elif answer.get("truncated"):
                # GitHub cut the text short: the REST plan reads the whole blob.
                self._settle(t, results, ReadByRest("text truncated"), fallback)
            elif answer.get("size", 0) > MAX_FILE_BYTES:
                self._fail(item, too_large(int(answer["size"])))
            elif answer.get("binary"):
                self._fail(item, ReadFailed("invalid_metadata", "the file is binary, not text"))
            elif answer.get("text") is None:
                self._fail(item, ReadFailed("invalid_metadata", "the file is not UTF-8 text"))
            else:
                item.data = str(answer["text"]).encode("utf-8")
                self._done(item)

    def _keep_subdirectories(
        self, answered: dict[TextAsk | ListingAsk, TextAnswer | PlanListing | Exception | None]
    ) -> dict[TextAsk, TextAnswer | Exception]:
        """Keep the subdirectories listed with the texts (a failed one is left to the review);
        the texts' answers."""
        answers: dict[TextAsk, TextAnswer | Exception] = {}
        fresh: dict[tuple[str, str], dict[str, PlanListing | None]] = {}
        for ask, answer in answered.items():
            if isinstance(ask, TextAsk):
                answers[ask] = cast(TextAnswer | Exception, answer)
            elif not isinstance(answer, Exception):
                listing = cast(PlanListing | None, answer)
                fresh.setdefault((ask.repo, ask.commit), {})[ask.directory] = listing
        self._keep_listings(self._merged(fresh))
        return answers

    def _subdirectories(
        self, targets: list[Target], results: dict[uuid.UUID, Reading], listings: Listings
    ) -> list[ListingAsk]:
        """The subdirectories of directory artifacts at the commits read, not listed yet: the
        review of their files needs them (SPEC 17), and they go out with the texts."""
        known = self._load_listings({(repo, commit) for repo, commit, _ in listings})
        wanted: dict[tuple[str, str, str], ListingAsk] = {}
        for t in self._live(targets, results):
            if file_artifact(t):
                continue
            item, repo, path = results[t.id], t.source.full_name.lower(), t.source.path
            for commit in {item.read_sha, item.tracked_sha}:
                listing = listings.get((repo, commit, path))
                entries = listing["entries"] if listing is not None else {}
                for name, entry in entries.items():
                    sub = f"{path}/{name}" if path else name
                    if entry[0] != "tree" or sub in known.get((repo, commit), {}):
                        continue
                    owner, repo_name = self._address(t)
                    wanted[(repo, commit, sub)] = ListingAsk(repo, owner, repo_name, commit, sub)
        return [wanted[key] for key in sorted(wanted)]

    def _merged(
        self, fresh: dict[tuple[str, str], dict[str, PlanListing | None]]
    ) -> dict[tuple[str, str], dict[str, PlanListing | None]]:
        """New listings over those a commit already has in the cache."""
        stored = self._load_listings(set(fresh))
        return {pair: {**stored.get(pair, {}), **dirs} for pair, dirs in fresh.items()}

    @staticmethod
    def _parse_texts(
        asks: Sequence[TextAsk | ListingAsk], data: JSONObject, errors: list[GraphQLErrorShape]
    ) -> dict[TextAsk | ListingAsk, TextAnswer | PlanListing | Exception | None]:
        def text(
            node: JSONObject, k: int, ask: TextAsk | ListingAsk
        ) -> TextAnswer | PlanListing | Exception | None:
            if isinstance(ask, ListingAsk):
                return listing_of(alias(node, f"x{k}", ListingNode))
            blob = alias(node, f"b{k}", BlobNode)
            if not blob or "byteSize" not in blob:
                return ReadByRest(f"no blob {ask.oid}")
            return {
                "text": blob.get("text"),
                "binary": bool(blob.get("isBinary")),
                "truncated": bool(blob.get("isTruncated")),
                "size": int(blob.get("byteSize") or 0),
            }

        return per_repository(asks, data, errors, text)

    @property
    def points(self) -> int:
        """GraphQL points the run's queries cost, as GitHub reported them."""
        return self._batches.points if self._batches is not None else 0

    def _send_all[K, R](
        self,
        asks: Sequence[K],
        *,
        build: Build[K],
        parse: Parse[K, R],
        limits: tuple[int, int],
        weight: Callable[[K], int] = lambda ask: 1,
        max_bytes: int = 0,
    ) -> dict[K, R | Exception]:
        assert self._batches is not None, "asked outside read()"
        return self._batches.run(
            asks,
            build=build,
            parse=parse,
            limits=limits,
            weight=weight,
            max_bytes=max_bytes,
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _address(self, target: Target) -> tuple[str, str]:
        """The owner and name to ask GitHub for: the current ones after a rename."""
        current = self._renamed.get(target.source.full_name.lower())
        if current is None:
            return target.source.owner, target.source.repo
        owner, _, name = current.partition("/")
        return owner, name

    @staticmethod
    def _is_live(item: Reading) -> bool:
        return item.error is None and item.skipped is None

    def _live(self, targets: list[Target], results: dict[uuid.UUID, Reading]) -> list[Target]:
        return [t for t in targets if self._is_live(results[t.id]) and t.id not in self._handed]

    def _settle(
        self,
        target: Target,
        results: dict[uuid.UUID, Reading],
        failure: Exception,
        fallback: list[Target],
    ) -> None:
        if isinstance(failure, ReadByRest):
            if target.id not in self._handed:
                self._handed.add(target.id)
                fallback.append(target)
            return
        self._fail(results[target.id], failure)

    def _fail(self, item: Reading, exc: Exception) -> None:
        if isinstance(exc, ReadSkipped):
            item.skipped = exc
        elif isinstance(exc, ReadFailed):
            item.error = exc
        else:  # pragma: no cover - only the two above reach here
            item.error = ReadFailed("upstream_unavailable", str(exc))
        self._done(item)

    def _done(self, item: Reading) -> None:
        item.duration_ms = int((time.monotonic() - self._started) * 1000)
        if self.on_progress:
            self.on_progress(1)


def _cached_text(body: object) -> TextAnswer | Exception:
    """A text the texts round cached, or a reason to read it through REST."""
    if not isinstance(body, dict) or "text" not in body:
        return ReadByRest("no text")
    return cast(TextAnswer, body)
