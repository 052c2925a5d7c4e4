#!/usr/bin/env bash
# Sets up a fresh machine (see setup.sh), then walks one purchase end to end:
# the simulator's purchase pages in Chromium, the extension, the host, the keychain.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --browser firefox: the same purchase in Firefox ESR (scripts/demo-firefox.ts).
if [ "${1:-}" = "--browser" ] && [ "${2:-}" = "firefox" ]; then exec npx tsx scripts/demo-firefox.ts; fi
exec npx tsx scripts/demo.ts
