#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for the demo and the tests:
# Debian packages (installed when root, otherwise the exact apt-get line is printed),
# npm packages from the lock file, and the built host and extension.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(fonts-liberation libsecret-1-dev gnome-keyring dbus tmux)
# The Firefox tests drive Debian's Firefox ESR, unless FIREFOX_PATH names another.
if [ -n "${FIREFOX_PATH:-}" ] && [ -x "${FIREFOX_PATH}" ]; then :; else DEB_PACKAGES+=(firefox-esr); fi
# The browser tests drive Debian's Chromium, unless CHROMIUM_PATH names another (Ubuntu's is a snap).
# chromium-l10n: its interface languages, which the extension's own follow (the German popup test).
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then :; else DEB_PACKAGES+=(chromium chromium-l10n); fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: these Debian packages are missing. Install them, then run this again:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building the host and the extension (Chromium and Firefox)"
npm run --silent build >/dev/null
npm run --silent build:firefox >/dev/null
