"""The offline demo: a local git repository made from the example artifacts in `upstream/`.

`manage.py seed_demo` builds it once (later runs leave it, and any edits made to it, alone) and
fills a collection from it through discovery, so the whole loop (edit upstream, refresh, see the
diff, roll back) can be tried without a network.
"""

import shutil
from pathlib import Path

from django.conf import settings

from refresher.upstream.git.cli import Git

EXAMPLES = Path(__file__).parent / "upstream"
IDENTITY = ["-c", "user.name=SkillMeat demo", "-c", "user.email=demo@skillmeat.invalid"]


def demo_repository_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-upstream" / "skillmeat" / "demo-skills"


def ensure_demo_repository(path: Path) -> bool:
    """Create the repository with one commit of the examples; False when it already exists."""
    if (path / ".git").exists():
        return False
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLES, path, dirs_exist_ok=True)
    home = Path(settings.GIT_CACHE_DIR) / "home"
    git = Git(binary=settings.GIT_BINARY, allow_local=True, home=home)
    where = ["-C", str(path)]
    git.run([*where, "init", "--quiet", "--initial-branch=main"])
    # As a hosting service would: clients may fetch without blobs (--filter=blob:none).
    git.run([*where, "config", "uploadpack.allowFilter", "true"])
    git.run([*where, "add", "--all"])
    git.run([*IDENTITY, *where, "commit", "--quiet", "-m", "Example artifacts for the demo"])
    return True


def demo_source(path: Path) -> str:
    return f"git+file://{path}"
