"""Generated, deterministic inputs for workload cases (e.g. `weft stats` on ~20 MB of text).

The same (kind, size, seed) always gives the same bytes, so base and head, and today's run and a
saved baseline, read identical input. Files are generated once under the report dir and reused.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from nox_cargo.fsutil import atomic_write_bytes, locked

GENERATOR_VERSION = 1
_SYLLABLE_TEXT = "kalominerusatevowazianelinorusbedafigohujakelimanopequrisotuvexayoze"
_SYLLABLES = tuple(_SYLLABLE_TEXT[i : i + 2] for i in range(0, len(_SYLLABLE_TEXT), 2))


def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)  # frequency rank independent of spelling
    return ordered


def generate_text(size: int, seed: int) -> bytes:
    """~`size` bytes of lines of words with a Zipf-like frequency distribution, cut at a line."""
    rng = random.Random(f"nox-cargo-text-{GENERATOR_VERSION}-{seed}")
    vocab = _vocabulary(rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    cumulative: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    chunks: list[str] = []
    produced = 0
    while produced < size:
        words = rng.choices(vocab, cum_weights=cumulative, k=4096)
        pos = 0
        lines = []
        while pos < len(words):
            n = rng.randint(3, 16)
            lines.append(" ".join(words[pos : pos + n]))
            pos += n
        chunk = "\n".join(lines) + "\n"
        chunks.append(chunk)
        produced += len(chunk)
    data = "".join(chunks).encode("ascii")[:size]
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut > 0 else data


def generate_bytes(size: int, seed: int) -> bytes:
    rng = random.Random(f"nox-cargo-bytes-{GENERATOR_VERSION}-{seed}")
    return rng.randbytes(size)


def input_file(directory: Path, kind: str, size: int, seed: int) -> Path:
    """The generated input of (kind, size, seed), created on first use."""
    digest = hashlib.sha256(f"{kind}:{size}:{seed}:{GENERATOR_VERSION}".encode()).hexdigest()[:12]
    path = directory / f"input-{kind}-{size}-{digest}.{'txt' if kind == 'text' else 'bin'}"
    if path.is_file():
        return path
    with locked(directory, ".inputs.lock"):
        if not path.is_file():
            data = generate_text(size, seed) if kind == "text" else generate_bytes(size, seed)
            atomic_write_bytes(path, data)
    return path
