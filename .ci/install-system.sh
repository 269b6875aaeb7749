#!/usr/bin/env bash
# Install the system (Debian 12 "bookworm", amd64) packages the CI needs:
#   - Debian's rustc 1.63 + cargo 1.65 (in /usr/bin; rustup's toolchain stays
#     first on PATH in ~/.cargo/bin and is not touched),
#   - Rust std for wasm32-wasi / wasm32-unknown-unknown (+ lld-14, which
#     /usr/bin/rust-lld points at), aarch64-unknown-linux-gnu (multiarch arm64)
#     and x86_64-pc-windows-gnu, with their C cross linkers,
#   - runners: qemu-user-static (aarch64), wine (windows), plus binaryen
#     (wasm-opt), hyperfine, brotli, unzip, xz-utils, zip, file,
#   - the release image: skopeo (loads / pushes the OCI image index) and
#     docker-registry (the real registry the integration tests push to; they
#     start their own on 127.0.0.1, the package's service is not used).
# Then pre-creates wine's prefix so the first `wine foo.exe` is fast (~0.5 s
# instead of ~6-10 s) and prints nothing extra on stderr.
#
# Idempotent, non-interactive, must run as root. Installs no Python packages.
# Env knobs:
#   INSTALL_SYSTEM_FORCE_UPDATE=1  run apt-get update/install even if all
#                                  packages are already present.
#   WINEPREFIX                     prefix to pre-warm (default: $HOME/.wine).
set -euo pipefail

log() { printf '[install-system] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "[install-system] must run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Use-Pty=0 -o Acquire::Retries=3)

PACKAGES=(
    # Debian's Rust 1.63 toolchain (/usr/bin/rustc, /usr/bin/cargo, /usr/bin/rust-lld)
    rustc cargo
    # rust-lld -> lld-14: needed to link wasm32 targets (only "Recommended").
    lld-14
    # std for wasm32-wasi and wasm32-unknown-unknown
    libstd-rust-dev-wasm32
    # aarch64-unknown-linux-gnu: std (multiarch) + cross gcc/libc as linker
    libstd-rust-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    # x86_64-pc-windows-gnu: std + mingw-w64 gcc as linker
    libstd-rust-dev-windows gcc-mingw-w64-x86-64
    # runners and tools
    qemu-user-static wine wine64 binaryen hyperfine brotli unzip xz-utils zip file
    # the release image index: push/load with skopeo, a real registry for the tests
    skopeo docker-registry
)

# 1. arm64 multiarch (needed for libstd-rust-dev:arm64).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
    INSTALL_SYSTEM_FORCE_UPDATE=1
fi

# 2. Packages (skip apt entirely when everything is already installed).
missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ] || [ "${INSTALL_SYSTEM_FORCE_UPDATE:-0}" = 1 ]; then
    if [ "${#missing[@]}" -gt 0 ]; then
        log "missing packages: ${missing[*]}"
    fi
    log "apt-get update"
    apt-get update -q -o Acquire::Retries=3 >/dev/null
    log "apt-get install ${#PACKAGES[@]} packages (--no-install-recommends)"
    apt_log=$(mktemp /tmp/install-system-apt.XXXXXX)
    if ! apt-get install "${APT_OPTS[@]}" "${PACKAGES[@]}" >"$apt_log" 2>&1; then
        tail -n 60 "$apt_log" >&2
        echo "[install-system] apt-get install failed (full log: $apt_log)" >&2
        exit 1
    fi
    grep -E '^[0-9]+ upgraded' "$apt_log" || true
    rm -f "$apt_log"
    for p in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        if [ "$status" != installed ]; then
            echo "[install-system] package $p failed to install" >&2
            exit 1
        fi
    done
else
    log "all ${#PACKAGES[@]} packages already installed"
fi

# 3. Sanity: tools and Debian rustc sysroot targets are there.
for c in /usr/bin/rustc /usr/bin/cargo /usr/bin/rust-lld aarch64-linux-gnu-gcc \
         x86_64-w64-mingw32-gcc qemu-aarch64-static wine wineboot wineserver \
         wasm-opt hyperfine brotli unzip xz zip file skopeo docker-registry; do
    command -v "$c" >/dev/null || { echo "[install-system] missing command: $c" >&2; exit 1; }
done
sysroot=$(/usr/bin/rustc --print sysroot)
for t in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-pc-windows-gnu \
         wasm32-wasi wasm32-unknown-unknown; do
    [ -d "$sysroot/lib/rustlib/$t/lib" ] || { echo "[install-system] no std for $t in $sysroot" >&2; exit 1; }
done
log "$(/usr/bin/rustc --version) in $sysroot; targets ok"

# 4. Pre-warm wine's prefix (first start otherwise takes ~6-10 s and prints
#    "created the configuration directory" noise on stderr).
#    Headless: no DISPLAY; mono/gecko installers disabled.
prefix=${WINEPREFIX:-$HOME/.wine}
if [ -f "$prefix/system.reg" ]; then
    log "wine prefix $prefix already initialised"
else
    log "initialising wine prefix $prefix (wineboot --init)"
    start=$(date +%s)
    (
        unset DISPLAY WAYLAND_DISPLAY
        export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
        timeout 300 wineboot --init >/dev/null 2>&1
        # wait for wineserver to flush the registry and exit
        timeout 60 wineserver -w || true
    )
    [ -f "$prefix/system.reg" ] || { echo "[install-system] wine prefix init failed" >&2; exit 1; }
    log "wine prefix ready in $(( $(date +%s) - start ))s"
fi

log "done"
