"""Updates waiting for review (SPEC 17): the run's review step (`step`), how a verdict changes a
run's decision (`verdicts`), writing the pending-updates table (`record`) and reading it for
reviewers (`proposals`). The judgement itself is pure and lives in `refresher.review`.
"""
