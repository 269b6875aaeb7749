"""Release packaging: reproducible archives, SHA256 checksums, the package manifest, verification.

`archive` writes byte-identical zip/tar.gz/tar.xz files from the same inputs; `checksums` writes
the sidecars and the aggregate SHA256SUMS; `release` is the `package` stage (build manifest in,
archive + checksums + package manifest out); `verify` re-checks all of it.
"""
