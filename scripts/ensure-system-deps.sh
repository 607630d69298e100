#!/usr/bin/env bash
# Ensure the system packages needed for browser (Playwright) tests are present:
#   - Chromium at /usr/bin/chromium (Debian package "chromium")
#   - Noto CJK fonts (Debian package "fonts-noto-cjk") so Chinese text renders
# Idempotent: does nothing if both are already installed.
# Never fails the build: if installation is impossible it prints a loud
# warning and exits 0 (the Makefile decides whether browser tests run).
set -u

CHROMIUM_BIN=/usr/bin/chromium

have_chromium() { [ -x "$CHROMIUM_BIN" ]; }

have_cjk_font() {
    if command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
        return 0
    fi
    dpkg -s fonts-noto-cjk >/dev/null 2>&1
}

warn() {
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    echo "!! WARNING: ensure-system-deps: $*" >&2
    echo "!! Browser tests need: chromium fonts-noto-cjk (apt-get install)" >&2
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
}

missing=()
have_chromium || missing+=(chromium)
have_cjk_font || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -eq 0 ]; then
    echo "ensure-system-deps: chromium and fonts-noto-cjk already installed; nothing to do."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    warn "missing ${missing[*]} and apt-get is not available; cannot install."
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        warn "missing ${missing[*]}; not root and sudo is not available; cannot install."
        exit 0
    fi
fi

log=$(mktemp "${TMPDIR:-/tmp}/ensure-system-deps.XXXXXX.log")
if "${SUDO[@]}" apt-get update -qq >"$log" 2>&1 \
   && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq chromium fonts-noto-cjk >>"$log" 2>&1 \
   && have_chromium && have_cjk_font; then
    rm -f "$log"
    echo "ensure-system-deps: installed ${missing[*]} (apt-get install chromium fonts-noto-cjk)."
else
    tail -n 20 "$log" >&2
    warn "apt-get failed to install ${missing[*]} (full log: $log)."
fi
exit 0
