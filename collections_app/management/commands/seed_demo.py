"""Create the demo user and demo collection; safe to run again."""

import secrets
from typing import TypedDict, Unpack

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from collections_app.demo import demo_repository_path, demo_source, ensure_demo_repository
from collections_app.models import Artifact, ArtifactType, Collection
from refresher.discovery import DiscoverRequest, discover_now
from refresher.exceptions import GitFailed, InvalidSource, ServiceError
from refresher.sources import parse_source

DEMO_USERNAME = "demo"
DEMO_COLLECTION = "Anthropic skills"
OFFLINE_COLLECTION = "Offline demo (local git)"
DEMO_ARTIFACTS = [
    (ArtifactType.SKILL, "pdf", "anthropics/skills/skills/pdf"),
    (ArtifactType.SKILL, "docx", "https://github.com/anthropics/skills/tree/main/skills/docx"),
    (ArtifactType.SKILL, "skill-creator", "anthropics/skills/skills/skill-creator"),
]


class SeedCommandOptions(TypedDict):
    url: str


class Command(BaseCommand):
    help = (
        "Create a demo user (with an API token), a demo collection of public skills, and an "
        "offline demo collection backed by a local git repository (needs GIT_ALLOW_LOCAL=true)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="The site's address, for the command it prints to try (make run passes its "
            "HOST and PORT).",
        )

    def handle(self, *args: str, **options: Unpack[SeedCommandOptions]) -> None:
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=DEMO_USERNAME).first()
            password = None
            if user is None:
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(
                    username=DEMO_USERNAME, password=password, is_staff=True, is_superuser=True
                )
            token, _ = Token.objects.get_or_create(user=user)
            collection, _ = Collection.objects.get_or_create(
                owner=user,
                name=DEMO_COLLECTION,
                defaults={"description": "Public skills from github.com/anthropics/skills."},
            )
            for kind, name, source in DEMO_ARTIFACTS:
                if not Artifact.objects.filter(
                    collection=collection, type=kind, name=name
                ).exists():
                    Artifact(collection=collection, type=kind, name=name, source=source).save()

        self.stdout.write(f"Demo collection: {collection.name} ({collection.id})")
        if password:
            self.stdout.write(self.style.SUCCESS("Created the demo user (admin too)."))
            self.stdout.write(f"  username: {DEMO_USERNAME}")
            self.stdout.write(
                f"  password: {password}   (shown once; change it with "
                f"'manage.py changepassword {DEMO_USERNAME}')"
            )
        else:
            self.stdout.write(
                f"Demo user '{DEMO_USERNAME}' already exists; its password is unchanged."
            )
        self.stdout.write(f"  API token: {token.key}")
        self.stdout.write(
            f'  try: curl -H "Authorization: Token {token.key}" '
            f"{options['url'].rstrip('/')}/api/v1/collections/"
        )
        self._offline_demo(user)

    def _offline_demo(self, user: User) -> None:
        """A collection filled, through discovery, from a local git repository of examples."""
        path = demo_repository_path()
        source = demo_source(path)
        if not settings.GIT_ALLOW_LOCAL:
            self.stdout.write(
                "Offline demo skipped: set GIT_ALLOW_LOCAL=true (make run does) to read local "
                "git repositories."
            )
            return
        try:
            parse_source(source, strict=True)
        except InvalidSource as exc:
            self.stdout.write(f"Offline demo skipped: {path} cannot be a git source ({exc}).")
            return
        try:
            created = ensure_demo_repository(path)
        except (GitFailed, OSError) as exc:
            self.stdout.write(f"Offline demo skipped: the demo repository failed: {exc}")
            return
        collection, _ = Collection.objects.get_or_create(
            owner=user,
            name=OFFLINE_COLLECTION,
            defaults={"description": f"Example artifacts from the local repository {path}."},
        )
        try:
            wanted = DiscoverRequest(source=source, refresh=True)
            found = discover_now(collection, wanted, user=user)
        except ServiceError as exc:
            self.stdout.write(f"Offline demo: discovery failed: {exc.message}")
            return
        added = sum(1 for a in found.artifacts if a.status == "added")
        self.stdout.write(
            f"Offline demo collection: {collection.name} ({collection.id}), {added} artifact(s) "
            f"added{' and synced' if found.run else ''}"
        )
        self.stdout.write(
            f"  upstream {'created' if created else 'kept'} at {path}: edit a file there, "
            "commit, then refresh (README: 'Offline demo')"
        )
