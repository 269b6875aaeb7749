"""Property-based tests (hypothesis): whatever a config file, the environment, `-c`, a checksum
file or a manifest holds, loading it gives a value or a `NoxCargoError` paragraph, never another
exception (a traceback shown to the user)."""

from __future__ import annotations

import contextlib
import json
import math
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nox_cargo import config as cfg
from nox_cargo import manifest as mf
from nox_cargo.config.convert import describe
from nox_cargo.errors import ConfigError, NoxCargoError
from nox_cargo.manifest import BuildManifest
from nox_cargo.packaging import checksums, release
from nox_cargo.packaging.verify import verify

LEAVES = cfg.leaves()
SECTIONS = sorted({dotted.split(".")[0] for dotted in LEAVES if "." in dotted})
VOCABULARY = sorted({part for dotted in LEAVES for part in dotted.split(".")} | set(SECTIONS))

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "0", "1", "zip", "tar.gz", "300 KiB", "1.5 MiB", "linux/amd64", "nan"]),
    st.sampled_from(["x86_64-unknown-linux-musl", "wasm32-wasip1", "{bin}-{target}", "../x"]),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(min_size=1, max_size=12))
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


def value_for(tp: Any) -> st.SearchStrategy[Any]:
    """A value of the right shape for a key most of the time, anything at all otherwise."""
    text = describe(tp)
    if "boolean" in text:
        right: st.SearchStrategy[Any] = st.booleans()
    elif "integer" in text:
        right = st.integers(min_value=-5, max_value=10**6)
    elif "number" in text:
        right = st.floats(allow_nan=True, allow_infinity=True)
    elif "size" in text:
        right = st.one_of(
            st.integers(min_value=-5, max_value=10**9), st.sampled_from(["20 MB", "1 KiB", "x"])
        )
    elif "array of tables" in text:
        right = st.lists(st.dictionaries(keys, scalars, max_size=6), max_size=3)
    elif "list" in text:
        right = st.lists(st.text(max_size=10), max_size=3)
    else:
        right = st.text(max_size=20)
    return st.one_of(right, right, values)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A `[tool.nox-cargo]` table: mostly known keys with plausible values, some junk."""
    doc: dict[str, Any] = {}
    chosen = draw(st.lists(st.sampled_from(sorted(LEAVES)), max_size=8, unique=True))
    for dotted in chosen:
        _, tp = LEAVES[dotted]
        node = doc
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[leaf] = draw(value_for(tp))
    for key, value in draw(st.dictionaries(keys, values, max_size=2)).items():
        doc.setdefault(key, value)
    return doc


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_config_documents_load_or_fail_with_a_config_error(doc: dict[str, Any]) -> None:
    source = cfg.ConfigSource(doc, "pyproject.toml [tool.nox-cargo]", Path("/p"))
    try:
        config = cfg.load(source, {})
    except ConfigError as exc:
        assert exc.message and exc.hint
        return
    for dotted, (path, _) in LEAVES.items():
        node: Any = config
        for part in path:
            node = getattr(node, part)
        if isinstance(node, float):
            assert math.isfinite(node), dotted


env_names = st.sampled_from(sorted(cfg.env_name(d) for d in LEAVES))
env_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["nan", "inf", "-1", "1e999", "[1, 2]", '{"a": "b"}', "[", "true", "", "0x10"]),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.dictionaries(env_names, env_text, max_size=4),
    st.lists(st.tuples(st.sampled_from(sorted(LEAVES)), env_text), max_size=3),
)
def test_environment_and_c_overrides_load_or_fail_with_a_config_error(
    environ: dict[str, str], overrides: list[tuple[str, str]]
) -> None:
    try:
        cfg.load(None, environ, [f"{k}={v}" for k, v in overrides])
    except ConfigError as exc:
        assert exc.message and exc.hint


# -- SHA256SUMS ---------------------------------------------------------------------------------

names = st.text(
    alphabet=st.characters(blacklist_characters="/\\\n\r", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=30,
).filter(lambda n: not n[0].isspace() and checksums._LINE.match(f"{'0' * 64}  {n}") is not None)
digests = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(names, digests, max_size=6))
def test_sha256sums_round_trip(table: dict[str, str]) -> None:
    assert checksums.parse(checksums.render(table), Path("SHA256SUMS")) == table


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(
            st.one_of(
                st.builds(lambda d, n: f"{d}  {n}", digests, st.text(max_size=20)),
                st.text(alphabet=string.printable, max_size=80),
            ),
            max_size=5,
        ).map(lambda lines: "\n".join(lines) + "\n"),
    )
)
def test_any_sha256sums_text_parses_or_names_the_file(text: str) -> None:
    try:
        parsed = checksums.parse(text, Path("dist/SHA256SUMS"))
    except checksums.ChecksumError as exc:
        assert "SHA256SUMS" in exc.message
        return
    assert checksums.parse(checksums.render(parsed), Path("SHA256SUMS")) == parsed


# -- manifests --------------------------------------------------------------------------------

json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        digests,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=15,
)
BUILD_KEYS = [
    "target_id", "triple", "strategy", "strategy_reason", "toolchain", "toolchain_path",
    "profile", "rustflags", "features", "version", "git_commit", "source_date_epoch",
    "duration_seconds", "artifacts",
]  # fmt: skip


def plausible(key: str) -> st.SearchStrategy[Any]:
    """The field's right type most of the time, with the odd value inside it."""
    if key in ("rustflags", "features"):
        return st.lists(st.text(max_size=5), max_size=2)
    if key in ("source_date_epoch", "duration_seconds"):
        return st.one_of(
            st.integers(), st.floats(), st.text(max_size=5), st.sampled_from(["1e3", "nan"])
        )
    if key == "artifacts":
        artifact = st.fixed_dictionaries(
            {k: json_values for k in ("name", "path", "size", "sha256", "static", "format")}
        )
        return st.lists(artifact, max_size=2)
    return st.text(max_size=10)


@st.composite
def build_documents(draw: st.DrawFn) -> Any:
    chosen = BUILD_KEYS if draw(st.booleans()) else draw(st.lists(st.sampled_from(BUILD_KEYS)))
    doc = {k: draw(st.one_of(plausible(k), json_values)) for k in chosen}
    doc.update(draw(st.dictionaries(st.sampled_from(["kind", "schema_version"]), json_values)))
    if draw(st.booleans()):
        doc.update({"kind": "build", "schema_version": mf.SCHEMA_VERSION})
    return draw(st.one_of(st.just(doc), json_values))


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=build_documents())
def test_any_build_manifest_loads_or_is_a_manifest_error(tmp_path: Path, document: Any) -> None:
    path = BuildManifest.path_for(tmp_path, "t")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    try:
        BuildManifest.load(tmp_path, "t")
    except NoxCargoError as exc:
        assert "build(target=t)" in (exc.hint or "")


@st.composite
def package_documents(draw: st.DrawFn) -> Any:
    entry = st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.text(max_size=8), json_values),
            "sha256": json_values,
            "size": json_values,
        },
    )
    record = st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.just("weft-0.3.0-t.zip"), json_values),
            "sha256": json_values,
            "binary": json_values,
            "binary_file": json_values,
            "entries": st.one_of(st.lists(entry, max_size=3), json_values),
        },
    )
    doc = {
        "kind": "package",
        "schema_version": mf.SCHEMA_VERSION,
        "target_id": draw(st.one_of(st.just("t"), json_values)),
        "archives": draw(st.one_of(st.lists(record, max_size=3), json_values)),
    }
    return draw(st.one_of(st.just(doc), json_values))


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=package_documents())
def test_any_package_manifest_is_reported_not_raised(tmp_path: Path, document: Any) -> None:
    from nox_cargo.packaging import archive

    dist = tmp_path / "dist"
    if not (dist / "weft-0.3.0-t.zip").exists():
        release._write_archive(
            dist, "weft-0.3.0-t.zip", archive.build([archive.Entry("weft", b"x", True)], "zip", 0)
        )
        checksums.write_sums(dist)
    manifest = release.manifest_path(dist, "t")
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(document))
    report = verify(dist, ())
    assert isinstance(report.problems, list)
    with contextlib.suppress(NoxCargoError):
        release.load_manifests(dist)
    release._kept_records(dist, "t", set())
