#!/usr/bin/env bash
# Sets up a fresh machine (see setup.sh), then walks one purchase end to end:
# the simulator's purchase pages in Chromium, the extension, the host, the keychain.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx scripts/demo.ts
