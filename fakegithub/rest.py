"""The REST endpoints the fake serves: repositories, refs, tags, trees, blobs, contents, commits.

Bodies take the shapes of GitHub's REST reference (version 2022-11-28), URLs included, so a
client that follows a ``url`` field lands on the fake again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

from werkzeug.wrappers import Request, Response

from . import history
from .errors import DOCS_URL, REDIRECT_DOCS_URL, GitHubFailure
from .json_types import JSON, JSONObject
from .responses import json_response
from .store import LICENSES, WEB_URL, Entry, Repo, RepoStore, b64_lines, iso, node_id


class RestRoutes:
    """Routes a repository request to its answer, reading :class:`RepoStore` under its lock."""

    def __init__(self, store: RepoStore, base_url: Callable[[], str]) -> None:
        self.store = store
        self.base_url = base_url

    def route(self, request: Request, can_read: Callable[[Repo], bool]) -> Response:
        """Answer a repository request (a GET or HEAD with its token and quota checked), for a
        caller who may read the repositories ``can_read`` says."""
        path = request.path
        with self.store.lock:
            match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
            if match:
                full_name = f"{match[1]}/{match[2]}"
                rest = match[3] or ""
                moved = self.store.moved_id(full_name)
                if moved is not None:
                    self._redirect(moved, rest, request.query_string.decode())
                repo = self.store.get(full_name)
            else:
                match = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
                if not match:
                    raise GitHubFailure(404)
                rest = match[2] or ""
                repo = self.store.by_id(int(match[1]))
            # GitHub hides private repositories from callers without access behind a 404.
            if repo is None or not can_read(repo):
                raise GitHubFailure(404)
            return self._repo_route(request, repo, rest)

    def _redirect(self, repo_id: int, rest: str, query: str = "") -> None:
        # GitHub's Location for a renamed repository keeps the request's query string.
        location = f"{self.base_url()}/repositories/{repo_id}{rest}" + (
            f"?{query}" if query else ""
        )
        raise GitHubFailure(
            301,
            "Moved Permanently",
            headers={"Location": location},
            documentation_url=REDIRECT_DOCS_URL,
            extra={"url": location},
        )

    def _repo_route(self, request: Request, repo: Repo, rest: str) -> Response:
        accept = request.headers.get("Accept", "")
        if rest in ("", "/"):
            response = json_response(self.repo_body(repo))
            response.headers["Last-Modified"] = format_datetime(
                datetime.fromtimestamp(repo.updated_at, UTC), usegmt=True
            )
            return response
        if match := re.fullmatch(r"/contents(?:/(.*))?", rest):
            return self._contents(
                repo, (match[1] or "").strip("/"), request.args.get("ref"), accept
            )
        if repo.empty:
            raise GitHubFailure(409, "Git Repository is empty.")
        if match := re.fullmatch(r"/git/refs?/(.+)", rest):
            return json_response(self._ref_body(repo, match[1]))
        if match := re.fullmatch(r"/git/tags/([0-9a-f]{40})", rest):
            return json_response(self._tag_body(repo, match[1]))
        if match := re.fullmatch(r"/git/trees/(.+)", rest):
            return json_response(self._tree_body(repo, match[1], "recursive" in request.args))
        if match := re.fullmatch(r"/git/blobs/([0-9a-f]{40})", rest):
            return self._blob(repo, match[1], accept)
        if match := re.fullmatch(r"/commits/(.+)", rest):
            return self._commit_answer(repo, match[1], accept)
        if rest in ("/commits", "/commits/"):
            return self._commit_list(request, repo)
        if match := re.fullmatch(r"/git/commits/([0-9a-f]{40})", rest):
            return self._git_commit(repo, match[1])
        raise GitHubFailure(404)

    def _commit_list(self, request: Request, repo: Repo) -> Response:
        """`GET /repos/{o}/{r}/commits`: a page of the history (fakegithub.history)."""
        args = dict(request.args.items())
        start = repo.resolve(args.get("sha") or repo.default_branch)
        if start is None:
            raise GitHubFailure(404, f"No commit found for SHA: {args.get('sha')}")
        try:
            found = history.history(
                repo,
                start,
                path=args.get("path", ""),
                since=history.parse_time(args.get("since")),
                until=history.parse_time(args.get("until")),
            )
            page, links = history.page_of(found, args, self._api(repo, "/commits"))
        except history.BadRequest as exc:
            raise GitHubFailure(422, str(exc)) from None
        web = f"{WEB_URL}/{repo.full_name}"
        body = [history.commit_item(self._api(repo, ""), web, c, _unsigned()) for c in page]
        response = json_response(body)
        response.headers.update(links)
        return response

    def _git_commit(self, repo: Repo, sha: str) -> Response:
        """`GET /repos/{o}/{r}/git/commits/{sha}`: the git commit object (immutable)."""
        commit = repo.commits.get(sha)
        if commit is None:
            raise GitHubFailure(404)
        web = f"{WEB_URL}/{repo.full_name}"
        return json_response(history.git_commit(self._api(repo, ""), web, commit, _unsigned()))

    def _api(self, repo: Repo, tail: str) -> str:
        return f"{self.base_url()}/repos/{repo.full_name}{tail}"

    def repo_body(self, repo: Repo) -> JSONObject:
        license_body = None
        if repo.license_spdx:
            key, name = LICENSES.get(
                repo.license_spdx, (repo.license_spdx.lower(), repo.license_spdx)
            )
            license_body = {
                "key": key,
                "name": name,
                "spdx_id": repo.license_spdx,
                "url": None if key == "other" else f"{self.base_url()}/licenses/{key}",
                "node_id": node_id("License", key),
            }
        owner_url = f"{self.base_url()}/users/{repo.owner}"
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": {
                "login": repo.owner,
                "id": int(hashlib.sha1(repo.owner.lower().encode()).hexdigest()[:7], 16),
                "node_id": node_id("User", repo.owner),
                "avatar_url": f"https://avatars.githubusercontent.com/{repo.owner}",
                "url": owner_url,
                "html_url": f"{WEB_URL}/{repo.owner}",
                "type": repo.owner_type,
                "site_admin": False,
            },
            "html_url": f"{WEB_URL}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": self._api(repo, ""),
            "git_refs_url": self._api(repo, "/git/refs{/sha}"),
            "trees_url": self._api(repo, "/git/trees{/sha}"),
            "contents_url": self._api(repo, "/contents/{+path}"),
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at),
            "pushed_at": iso(repo.pushed_at),
            "clone_url": f"{WEB_URL}/{repo.full_name}.git",
            "homepage": repo.homepage,
            "size": sum(len(blob) for blob in repo.blobs.values()) // 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "forks_count": 0,
            "archived": repo.archived,
            "disabled": False,
            "open_issues_count": 0,
            "license": license_body,
            "topics": list(repo.topics),
            "visibility": "private" if repo.private else "public",
            "default_branch": repo.default_branch,
        }

    def _ref_body(self, repo: Repo, ref: str) -> JSONObject:
        kind, _, name = ref.partition("/")
        table = {"heads": repo.branches, "tags": repo.tags}.get(kind, {})
        sha = table.get(name)
        if sha is None:
            raise GitHubFailure(404)
        is_tag_object = sha in repo.tag_objects
        return {
            "ref": f"refs/{ref}",
            "node_id": node_id("Ref", f"{repo.id}:{ref}"),
            "url": self._api(repo, f"/git/refs/{ref}"),
            "object": {
                "sha": sha,
                "type": "tag" if is_tag_object else "commit",
                "url": self._api(repo, f"/git/{'tags' if is_tag_object else 'commits'}/{sha}"),
            },
        }

    def _tag_body(self, repo: Repo, sha: str) -> JSONObject:
        tag = repo.tag_objects.get(sha)
        if tag is None:
            raise GitHubFailure(404)
        return {
            "node_id": node_id("Tag", sha),
            "tag": tag.name,
            "sha": sha,
            "url": self._api(repo, f"/git/tags/{sha}"),
            "message": tag.message,
            "tagger": {
                "name": "Fake Tagger",
                "email": "tagger@example.com",
                "date": iso(tag.timestamp),
            },
            "object": {
                "type": "commit",
                "sha": tag.target,
                "url": self._api(repo, f"/git/commits/{tag.target}"),
            },
            "verification": _unsigned(),
        }

    def _tree_body(self, repo: Repo, sha_or_ref: str, recursive: bool) -> JSONObject:
        if sha_or_ref in repo.trees:
            tree = sha_or_ref
        else:
            commit = repo.resolve(sha_or_ref)
            if commit is None:
                raise GitHubFailure(404)
            tree = repo.commits[commit].tree
        truncated = recursive and repo.truncated
        entries = self._tree_entries(repo, tree, recursive=recursive and not truncated)
        return {
            "sha": tree,
            "url": self._api(repo, f"/git/trees/{tree}"),
            "tree": entries,
            "truncated": truncated,
        }

    def _tree_entries(self, repo: Repo, tree: str, *, recursive: bool) -> list[JSON]:
        pairs = repo.walk(tree) if recursive else ((e.name, e) for e in repo.trees[tree])
        entries: list[JSON] = []
        for path, entry in pairs:
            item: JSONObject = {
                "path": path,
                "mode": "040000" if entry.is_tree else entry.mode,
                "type": "tree" if entry.is_tree else "blob",
                "sha": entry.sha,
            }
            if entry.is_tree:
                item["url"] = self._api(repo, f"/git/trees/{entry.sha}")
            else:
                item["size"] = len(repo.blobs[entry.sha])
                item["url"] = self._api(repo, f"/git/blobs/{entry.sha}")
            entries.append(item)
        return entries

    def _blob(self, repo: Repo, sha: str, accept: str) -> Response:
        data = repo.blobs.get(sha)
        if data is None:
            raise GitHubFailure(404)
        if "vnd.github.raw" in accept:
            return Response(data, content_type="application/vnd.github.raw")
        return json_response(
            {
                "sha": sha,
                "node_id": node_id("Blob", sha),
                "size": len(data),
                "url": self._api(repo, f"/git/blobs/{sha}"),
                "content": b64_lines(data),
                "encoding": "base64",
            }
        )

    def _contents(self, repo: Repo, path: str, ref: str | None, accept: str) -> Response:
        if repo.empty:
            raise GitHubFailure(404, "This repository is empty.")
        ref = ref or repo.default_branch
        commit = repo.resolve(ref)
        if commit is None:
            raise GitHubFailure(404, f"No commit found for the ref {ref}")
        entry = repo.lookup(repo.commits[commit].tree, path)
        if entry is None:
            raise GitHubFailure(404)
        if entry.is_tree:
            listing = [
                self._content_item(repo, f"{path}/{child.name}".lstrip("/"), child, ref)
                for child in repo.trees[entry.sha]
            ]
            return json_response(listing)
        data = repo.blobs[entry.sha]
        if "vnd.github.raw" in accept:
            return Response(data, content_type="application/vnd.github.raw")
        item = self._content_item(repo, path, entry, ref)
        item.update({"content": b64_lines(data), "encoding": "base64"})
        return json_response(item)

    def _content_item(self, repo: Repo, path: str, entry: Entry, ref: str) -> JSONObject:
        kind = "dir" if entry.is_tree else "file"
        self_url = self._api(repo, f"/contents/{path}?ref={ref}")
        git_url = self._api(repo, f"/git/{'trees' if entry.is_tree else 'blobs'}/{entry.sha}")
        html_url = f"{WEB_URL}/{repo.full_name}/{'tree' if entry.is_tree else 'blob'}/{ref}/{path}"
        return {
            "type": kind,
            "size": 0 if entry.is_tree else len(repo.blobs[entry.sha]),
            "name": entry.name,
            "path": path,
            "sha": entry.sha,
            "url": self_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": None
            if entry.is_tree
            else f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }

    def _commit_answer(self, repo: Repo, ref: str, accept: str) -> Response:
        sha = repo.resolve(ref)
        if sha is None:
            # GitHub answers an unknown commit-ish here with 422, not 404.
            raise GitHubFailure(
                422,
                f"No commit found for SHA: {ref}",
                documentation_url=f"{DOCS_URL}/commits/commits#get-a-commit",
            )
        if "vnd.github.sha" in accept:
            return Response(sha, content_type="application/vnd.github.sha")
        commit = repo.commits[sha]
        person = {
            "name": "Fake Author",
            "email": "author@example.com",
            "date": iso(commit.timestamp),
        }
        return json_response(
            {
                "sha": sha,
                "node_id": node_id("Commit", sha),
                "commit": {
                    "author": person,
                    "committer": person,
                    "message": commit.message.rstrip("\n"),
                    "tree": {
                        "sha": commit.tree,
                        "url": self._api(repo, f"/git/trees/{commit.tree}"),
                    },
                    "url": self._api(repo, f"/git/commits/{sha}"),
                    "comment_count": 0,
                    "verification": _unsigned(),
                },
                "url": self._api(repo, f"/commits/{sha}"),
                "html_url": f"{WEB_URL}/{repo.full_name}/commit/{sha}",
                "author": None,
                "committer": None,
                "parents": [
                    {
                        "sha": parent,
                        "url": self._api(repo, f"/commits/{parent}"),
                        "html_url": f"{WEB_URL}/{repo.full_name}/commit/{parent}",
                    }
                    for parent in commit.parents
                ],
            }
        )


def _unsigned() -> JSONObject:
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }
