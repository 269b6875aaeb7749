"""The FROM scratch image: the build's exact binary, staged, built from the Dockerfile template,
checked (size, no shell, non-root, smoke run, hadolint), tagged, optionally pushed.

`engine` probes Docker; `context` stages the clean build context; `image` builds, tags and pushes;
`checks` inspects the result; `stage` is the `docker(platform=…)` session body.
"""
