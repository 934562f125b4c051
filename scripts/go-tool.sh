#!/usr/bin/env bash
# Prints the path of a Go-built tool this project runs, building it once with `go install` at a pinned
# version into .tools/ (ignored by git) when it is not provided otherwise. Build output goes to stderr.
#   temporal   the Temporal CLI (dev server with SQLite and Web UI); TEMPORAL_CLI or `temporal` on PATH win
#   local-kms  a KMS-API server for the tests;                      LOCAL_KMS_BIN or `local-kms` on PATH win
#   temporal-ui  Temporal's UI server (the UI the CLI embeds, configurable: codec credentials);
#                TEMPORAL_UI_BIN wins (its binary is named `server`, so PATH is not searched)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

case "${1:-}" in
  temporal)
    override=${TEMPORAL_CLI:-}; binary=temporal
    module=github.com/temporalio/cli/cmd/temporal; version=v1.5.1 ;;
  local-kms)
    override=${LOCAL_KMS_BIN:-}; binary=local-kms
    module=github.com/nsmithuk/local-kms; version=v0.0.0-20260228092603-2a5e92d09ab6 ;;
  temporal-ui)
    override=${TEMPORAL_UI_BIN:-}; binary=server; name=temporal-ui; search_path=no
    module=github.com/temporalio/ui-server/v2/cmd/server; version=v2.42.1 ;;
  *) echo "usage: $0 temporal|local-kms|temporal-ui" >&2; exit 2 ;;
esac
name=${name:-$binary}

if [ -n "$override" ]; then
  [ -x "$override" ] || { echo "$name: $override is not an executable file" >&2; exit 1; }
  echo "$override"; exit 0
fi
if [ "${search_path:-yes}" = yes ] && found=$(command -v "$binary" 2>/dev/null); then echo "$found"; exit 0; fi

dir="$root/.tools/$name-$version"
if [ ! -x "$dir/$binary" ]; then
  command -v go >/dev/null || { echo "$name: not found, and Go is needed to build it (go install $module@$version)" >&2; exit 1; }
  echo "building $name $version with go install (once; kept in $dir)..." >&2
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-buildvcs=false go install "$module@$version" >&2
fi
echo "$dir/$binary"
