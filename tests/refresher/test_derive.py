"""Deriving the licence (SPEC section 4): SPDX identifiers and expressions, parsed by
license-expression; anything else falls back to the repository's licence."""

import pytest

from collections_app.models import Artifact
from refresher.derive import MAX_LICENSE_CHARS, derive_fields, spdx_identifier
from refresher.frontmatter import Document
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from tests.factories import ArtifactFactory, CollectionFactory

REPOSITORY = {"owner": {"login": "acme"}, "license": {"spdx_id": "MIT"}}


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("MIT", "MIT"),
        ("  mit ", "MIT"),
        ("apache-2.0", "Apache-2.0"),
        ("(MIT OR Apache-2.0) AND BSD-3-Clause", "(MIT OR Apache-2.0) AND BSD-3-Clause"),
        ("(mit or apache-2.0) and bsd-3-clause", "(MIT OR Apache-2.0) AND BSD-3-Clause"),
        ("MIT AND (Apache-2.0 OR BSD-2-Clause)", "MIT AND (Apache-2.0 OR BSD-2-Clause)"),
        # AND binds tighter than OR; the canonical form says so with parentheses.
        ("MIT OR Apache-2.0 AND BSD-2-Clause", "MIT OR (Apache-2.0 AND BSD-2-Clause)"),
        ("((MIT))", "MIT"),
        (
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
        ),
        # A deprecated SPDX id is still an SPDX id, and is kept as written (not as its successor).
        ("GPL-2.0", "GPL-2.0"),
        ("gpl-2.0+", "GPL-2.0+"),
        ("Unlicense", "Unlicense"),
    ],
)
def test_spdx_identifiers_and_expressions_are_kept_in_canonical_form(written, kept):
    assert spdx_identifier(written) == kept


@pytest.mark.parametrize(
    "written",
    [
        "Proprietary. See LICENSE.txt in this folder for the complete terms.",
        "MIT License",
        "Apache 2.0",
        "BSD",
        "MIT OR",
        "AND",
        "(MIT",
        "MIT)",
        "MIT OR OR Apache-2.0",
        "LicenseRef-MIT-Bootstrap",  # an alias of MIT in the library's own SPDX licensing
        "MIT WITH GPL-2.0",  # WITH takes a licence exception, not a licence
        "Classpath-exception-2.0",  # an exception is not a licence on its own
        " AND ".join(["MIT"] * 20),  # longer than the column: it could only be stored cut
        # Inputs on which the library's parser fails with IndexError and AssertionError.
        "()MITwith (x ) ",
        "( and Classpath-exception-2.0x   OR+ ",
        "",
        "   ",
        None,
        3,
        ["MIT"],
        {"spdx": "MIT"},
    ],
)
def test_anything_else_is_not_a_licence_expression(written):
    assert spdx_identifier(written) == ""


def test_the_length_limit_is_the_columns():
    assert Artifact._meta.get_field("license").max_length == MAX_LICENSE_CHARS


def test_an_invalid_frontmatter_licence_falls_back_to_the_repositorys():
    fields = derive_fields(Document(meta={"license": "MIT License"}), repository=REPOSITORY)
    assert fields["license"] == "MIT"


def test_a_frontmatter_expression_wins_over_the_repositorys_licence():
    meta = {"license": "(MIT OR Apache-2.0) AND BSD-3-Clause"}
    fields = derive_fields(Document(meta=meta), repository=REPOSITORY)
    assert fields["license"] == "(MIT OR Apache-2.0) AND BSD-3-Clause"


@pytest.mark.django_db
def test_a_refresh_stores_the_expression_from_the_frontmatter(github, user):
    skill = (
        "---\nname: dual\ndescription: Dual-licensed.\n"
        "license: (MIT OR apache-2.0) AND BSD-3-Clause\n---\n\n# Dual\n"
    )
    github.add_repo("acme/dual", files={"SKILL.md": skill}, license_spdx="MIT")
    collection = CollectionFactory(owner=user)
    artifact = ArtifactFactory(collection=collection, name="dual", source="acme/dual")

    refresh_now(collection, RefreshOptions())

    artifact.refresh_from_db()
    assert artifact.license == "(MIT OR Apache-2.0) AND BSD-3-Clause"
