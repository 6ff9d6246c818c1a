"""Create the demo user and demo collection; safe to run again."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from collections_app.models import Artifact, ArtifactType, Collection

DEMO_USERNAME = "demo"
DEMO_COLLECTION = "Anthropic skills"
DEMO_ARTIFACTS = [
    (ArtifactType.SKILL, "pdf", "anthropics/skills/skills/pdf"),
    (ArtifactType.SKILL, "docx", "https://github.com/anthropics/skills/tree/main/skills/docx"),
    (ArtifactType.SKILL, "skill-creator", "anthropics/skills/skills/skill-creator"),
]


class Command(BaseCommand):
    help = "Create a demo user (with an API token) and a demo collection of public skills."

    def handle(self, *args: Any, **options: Any) -> None:
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
            f'  try: curl -H "Authorization: Token {token.key}" http://127.0.0.1:8000/api/v1/collections/'
        )
