"""Reviewing updates before they are taken (SPEC 17).

The pure part lives here and touches neither the database nor the network: `findings` scans an
artifact's new version against its old one, `diff` builds what a reviewer reads (a bounded
unified diff, the files changed under the artifact, the commits in between).
"""
