"""Typed settings readers: a bad value fails at start-up, naming the variable."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from skillmeat_site.env import env_choice


def test_a_choice_is_read_case_insensitively_and_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("REFRESH_UPSTREAM", raising=False)
    assert env_choice("REFRESH_UPSTREAM", "auto", ("auto", "graphql", "rest")) == "auto"
    monkeypatch.setenv("REFRESH_UPSTREAM", " GraphQL ")
    assert env_choice("REFRESH_UPSTREAM", "auto", ("auto", "graphql", "rest")) == "graphql"


def test_an_unknown_choice_names_the_valid_ones(monkeypatch):
    monkeypatch.setenv("REFRESH_UPSTREAM", "soap")
    with pytest.raises(ImproperlyConfigured, match="auto, graphql, rest"):
        env_choice("REFRESH_UPSTREAM", "auto", ("auto", "graphql", "rest"))
