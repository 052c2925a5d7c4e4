#!/usr/bin/env bash
# Sets up, then runs the demo (for now: the License Service simulator).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npm run --silent simulator
