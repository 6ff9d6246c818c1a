"""Factories for the models; `collection_with_artifacts(n=...)` builds a filled collection."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.utils import timezone
from factory.django import DjangoModelFactory

from collections_app.models import Artifact, ArtifactType, Collection
from refresher.models import PendingUpdate


class UserFactory(DjangoModelFactory[AbstractUser]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class CollectionFactory(DjangoModelFactory[Collection]):
    class Meta:
        model = Collection

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"collection-{n}")
    description = "Skills we use"


class ArtifactFactory(DjangoModelFactory[Artifact]):
    class Meta:
        model = Artifact

    collection = factory.SubFactory(CollectionFactory)
    type = ArtifactType.SKILL
    name = factory.Sequence(lambda n: f"skill-{n}")
    source = factory.LazyAttribute(lambda a: f"acme/skills/skills/{a.name}")


def collection_with_artifacts(
    n: int, *, owner: AbstractUser | None = None, repo: str = "acme/skills", **kwargs: object
) -> Collection:
    collection = CollectionFactory(owner=owner) if owner else CollectionFactory()
    for i in range(n):
        ArtifactFactory(
            collection=collection,
            name=f"skill-{i:04d}",
            source=f"{repo}/skills/skill-{i:04d}",
            **kwargs,
        )
    return collection


class PendingUpdateFactory(DjangoModelFactory[PendingUpdate]):
    """An update waiting for review, as a run would have recorded it."""

    class Meta:
        model = PendingUpdate

    artifact = factory.SubFactory(ArtifactFactory)
    collection = factory.LazyAttribute(lambda p: p.artifact.collection)
    current_sha = "a" * 40
    current_content_sha = "b" * 40
    upstream_sha = "c" * 40
    upstream_content_sha = "d" * 40
    main_file = factory.LazyAttribute(lambda p: f"skills/{p.artifact.name}/SKILL.md")
    found_at = factory.LazyFunction(timezone.now)
