"""Provisioning: what a stage needs from rustup, PyPI or crates.io, and getting it.

`needs` is the data type (`Need`), `tooldir` is nox-cargo's own directory for PyPI and crates.io
tools (never the user's environment), `installer` checks what is present and installs what is
missing (printing each step and its time), `stages` says what each stage needs for a value.
"""
