#!/usr/bin/env bash
# `npm run api` / `npm run worker`: one part of the compiled service (dist/, made by `npm run build`), as the
# Docker image runs it. Says so plainly when there is no build yet instead of a module-not-found trace.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
entry="$root/dist/scripts/serve.js"
if [ ! -f "$entry" ]; then
  echo "dist/ has no compiled service: run \`npm run build\` first (npm start runs the service from source)" >&2
  exit 1
fi
exec node "$entry" "$@"
