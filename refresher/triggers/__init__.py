"""Runs nobody pressed and what follows a run: cron schedules (`scheduler`), GitHub push
webhooks (`webhooks`, `push`), pushes waiting for a busy collection (`pending`), notifications
(`notify`, `outbound`) and the task worker's clock (`periodic`, `housekeeping`). Triggers start
runs through `refresher.service.launch` and hear of their end through
`refresher.signals.run_finished`."""
