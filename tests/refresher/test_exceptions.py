"""The refresher's domain errors: one module, one base, stable codes."""

import importlib
import inspect
import pickle
import pkgutil

import pytest

import refresher
from refresher import exceptions
from refresher.exceptions import (
    ArtifactError,
    InvalidRequest,
    InvalidSource,
    MetadataError,
    ReadFailed,
    ReadSkipped,
    RefresherError,
    RunAbandoned,
    ServiceError,
    UpstreamUnavailable,
)

# The GitHub transport keeps its own errors beside its client (the reader maps them to ReadFailed):
# `GitHubError` with the client's answers, the client's retry signal with its plumbing.
ALLOWED = {
    "refresher.exceptions",
    "refresher.upstream.github.answers",
    "refresher.upstream.github.transport",
}


def test_every_exception_class_of_the_refresher_lives_in_its_exceptions_module():
    elsewhere = []
    for module_info in pkgutil.walk_packages(refresher.__path__, "refresher."):
        if ".migrations" in module_info.name or module_info.name in ALLOWED:
            continue
        module = importlib.import_module(module_info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, BaseException):
                elsewhere.append(f"{module.__name__}.{name}")
    assert elsewhere == []


def test_every_domain_error_shares_the_one_base():
    classes = [
        cls
        for cls in vars(exceptions).values()
        if inspect.isclass(cls) and issubclass(cls, BaseException)
    ]
    assert len(classes) >= 10
    assert all(issubclass(cls, RefresherError) for cls in classes)


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (ReadFailed("upstream_not_found", "no SKILL.md"), "upstream_not_found", "no SKILL.md"),
        (MetadataError("invalid_metadata", "not a mapping"), "invalid_metadata", "not a mapping"),
        (InvalidSource("invalid git ref 'a..b'"), "invalid_source", "invalid git ref 'a..b'"),
        (InvalidRequest("bad"), "invalid_request", "bad"),
        (UpstreamUnavailable("down", retry_after=30), "upstream_unavailable", "down"),
    ],
)
def test_each_error_has_its_code_and_message(error, code, message):
    assert (error.code, error.message, str(error)) == (code, message, message)


def test_a_skipped_read_names_its_reason_as_its_code():
    skipped = ReadSkipped("deadline_exceeded", "the refresh ran out of time")
    assert (skipped.reason, skipped.code, skipped.message) == (
        "deadline_exceeded",
        "deadline_exceeded",
        "the refresh ran out of time",
    )
    assert not isinstance(skipped, ArtifactError | ServiceError)


def test_an_invalid_source_is_still_a_value_error():
    with pytest.raises(ValueError, match="unsupported"):
        raise InvalidSource("unsupported URL scheme 'ftp'")


def test_an_abandoned_run_is_a_refresh_in_progress_naming_the_run():
    error = RunAbandoned("run-1")
    assert (error.code, error.status, error.details) == (
        "refresh_in_progress",
        409,
        {"run_id": "run-1"},
    )


@pytest.mark.parametrize(
    "error",
    [
        ReadFailed("upstream_not_found", "gone"),
        ReadSkipped("rate_limited", "later"),
        MetadataError("file_too_large", "big"),
        InvalidSource("bad"),
        RunAbandoned("run-1"),
        UpstreamUnavailable("down", details={"run_id": "r"}, retry_after=5),
    ],
)
def test_errors_survive_pickling_with_every_attribute(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert vars(copy) == vars(error)
    assert str(copy) == str(error)
