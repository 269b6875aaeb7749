"""The stage cache: a stage's recorded result, reused while its inputs are unchanged.

A stage declares what its result depends on (`Inputs`: the workspace's sources and Cargo.lock,
the config values it reads, the toolchain, upstream manifests, the machine) and what it leaves
behind (its outputs). `inputs.key` turns that declaration into one digest per component; the
runner (`sessions/runner.py`) looks the session up in `store`, and when every component matches a
recorded run whose outputs are intact, shows the recorded figures and verdict as
`cached: unchanged since <time>` instead of running the stage.

Modules: `inputs` (the declaration and the key), `sources` (the source tree digest, fast on a
second call), `store` (entries under `target/nox-cargo/cache/`, written atomically).
"""
