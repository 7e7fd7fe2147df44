#!/usr/bin/env bash
# Runs every test (unit, integration against a real etcd, e2e against the real kernel) and leaves
# vitest's JSON report in test-results.json for .ci/run to count.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "npm test needs root: the integration and e2e tests start etcd and build network namespaces." >&2
  echo "Run it as root (sudo npm test)." >&2
  exit 1
fi
export NO_COLOR=1
npm run --silent check:generated || exit 1
npx tsc --noEmit -p . || exit 1
exec npx vitest run --reporter=default --reporter=json --outputFile.json=test-results.json "$@"
