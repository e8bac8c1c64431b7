#!/usr/bin/env bash
# The start command of the README: set-up, then the daemon in a lab with the web UI on localhost.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/kvmgr.js daemon --lab "${KVMGR_LAB:-kvmgr-lab}" --http "${KVMGR_HTTP:-127.0.0.1:8780}" "$@"
