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

# ensure_node: Node.js 20.19+ and npm for the till's UI (ui/). Debian's nodejs package where
# none is installed; says plainly when the one found is too old for Vite 8.
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null || ensure_apt nodejs npm
  local v
  v="$(node -p 'process.versions.node' 2>/dev/null || echo 0)"
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    say "the UI needs Node.js 20.19 or newer (found $v); install a newer nodejs package, then run this again"
    return 1
  fi
}

# ensure_chromium: Debian's Chromium at /usr/bin/chromium for the UI's browser tests.
ensure_chromium() {
  [ -x /usr/bin/chromium ] || ensure_apt chromium
}

# ui_deps: the UI's npm packages exactly as package-lock.json pins them (skipped when
# node_modules already matches the lock file).
ui_deps() {
  ensure_node
  if [ ! -f "$ROOT/ui/node_modules/.package-lock.json" ] \
    || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
    (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The desktop app's build needs: WebKitGTK and friends (Tauri v2 on Linux), and Node for the UI.
ensure_app_deps() {
  ensure_apt libwebkit2gtk-4.1-dev build-essential curl file libssl-dev \
    libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  ensure_node
}

# build_ui: builds the UI into ui/dist, which the app embeds (so before the app compiles).
build_ui() {
  ui_deps
  say "building the UI"
  (cd "$ROOT/ui" && npm run --silent build)
}

# ensure_e2e_deps: what the WebDriver tests of the desktop app need (tests/e2e/) beside the app's
# build: Xvfb (+ xauth for xvfb-run), xdotool (the tests' barcode scanner: real X key events),
# ImageMagick (the screenshots, from the X server), Debian's WebKitWebDriver, and tauri-driver 2
# in ~/.cargo/bin. Installs only what is missing.
ensure_e2e_deps() {
  ensure_app_deps
  ensure_apt xvfb xauth webkit2gtk-driver xdotool imagemagick
  local bin="${CARGO_HOME:-${HOME:-/root}/.cargo}/bin"
  if ! command -v tauri-driver >/dev/null && [ ! -x "$bin/tauri-driver" ]; then
    say "installing tauri-driver 2"
    # Its own temporary target dir: the shared one is for this workspace.
    env -u CARGO_TARGET_DIR cargo install tauri-driver --version '^2' --locked
  fi
}
