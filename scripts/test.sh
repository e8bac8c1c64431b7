#!/usr/bin/env bash
# The test command of the README: set-up, lint, type check, then every test (unit, host, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx --no-install eslint src test bench
npx --no-install tsc -p tsconfig.json --noEmit
npx --no-install tsc -p src/web/tsconfig.json
# One run, one summary; e2e tests build labs, so one file at a time on 2 cores.
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@" test/unit/*.test.ts test/e2e/*.test.ts
