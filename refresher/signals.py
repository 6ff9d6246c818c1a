"""What the rest of the site may hear about runs, without the engine knowing who listens."""

from django.dispatch import Signal

# A run has ended, however it ended (completed, partial, failed, crashed); `run` is its final
# record. Sent by the doors that carry out runs (the inline launch, the background task); the
# receivers (`refresher.triggers.pending`, `refresher.triggers.notify`) are connected in
# `RefresherConfig.ready()`.
run_finished = Signal()
