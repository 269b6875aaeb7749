"""GitHub Actions: the generated parts of the workflows, their drift check, the bench PR comment.

`matrix` computes what the workflows must say (matrices from the target registry and the nox
sessions, report paths); `markers` rewrites the generated blocks in place; `drift` compares and
writes; `invocations` checks that every `nox -s` in a workflow names a real session; `pins` checks
that every action is pinned to a commit; `audit` runs zizmor (and actionlint); `comment` turns a
bench artifact from an untrusted pull request into a safe PR comment body.
"""
