"""Judging an update before it is taken (SPEC 17), in pure functions.

`findings` scans an artifact's new version against its old one, `diff` builds what a reviewer
reads (a bounded unified diff, the files changed under the artifact, the commit list) and `gate`
decides whether a run may take new content. Nothing here touches the database or the network:
`refresher.updates` does, around a run.
"""
