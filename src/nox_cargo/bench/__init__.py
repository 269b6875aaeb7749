"""Benchmarks that measure what users feel, and a regression gate that is right.

Modules: `launcher` (the native spawner and its driver), `measure` (warm-up, interleaving,
adaptive sampling), `stats` (median, MAD, bootstrap CIs, the decision rule), `compare` (rows and
verdicts), `results` (the raw JSON and baselines), `report`/`exports`/`chart` (Markdown,
github-action-benchmark and hyperfine JSON, SVG), `sizes`, `fingerprint`, `inputs`, `baseref`
(`--base REF` in a git worktree) and `runner` (the stage).
"""
