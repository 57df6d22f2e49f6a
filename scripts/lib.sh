# Shared by scripts/run and scripts/test: install what is missing, pick the shared target dir.
# Safe to source twice; installs nothing that is already there.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One target directory shared by every step (and by CI runs on the same machine); a cold one works too.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/trestle/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1; fi
}

APT_UPDATED=""
# ensure_apt PKG...: installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    say "missing system packages (${missing[*]}) and no apt-get to install them"; return 1
  fi
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_rust() {
  if ! command -v cargo >/dev/null; then
    [ -x "${HOME:-/root}/.cargo/bin/cargo" ] && export PATH="${HOME:-/root}/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null; then
    say "Rust is not installed: install it with rustup (https://rustup.rs), then run this again."
    return 1
  fi
  for c in rustfmt clippy; do
    if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
      command -v rustup >/dev/null && rustup component add "$c" || { say "cargo $c is missing"; return 1; }
    fi
  done
}

# The build needs a C compiler (SQLite is compiled in) and pkg-config.
ensure_build_deps() {
  ensure_apt build-essential pkg-config ca-certificates
  ensure_rust
}
