#!/usr/bin/env bash
# Validates docker-compose.yml with `docker compose config`. Where the compose plugin is missing
# (no Docker engine runs here, and Debian ships only compose v1), builds Compose v2 from the Go
# module proxy into .tools/bin/docker-compose once and uses it standalone.
set -euo pipefail
cd "$(dirname "$0")/.."
COMPOSE_VERSION=v2.32.4
if docker compose version >/dev/null 2>&1; then
  exec docker compose -f docker-compose.yml config --quiet
fi
bin=.tools/bin/docker-compose
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "neither docker compose nor go is available to check docker-compose.yml" >&2; exit 1; }
  echo "building docker compose $COMPOSE_VERSION from the Go module proxy into $bin (once)" >&2
  mkdir -p .tools/bin
  GOFLAGS=-mod=mod GOBIN="$PWD/.tools/go-bin" go install "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"
  cp .tools/go-bin/cmd "$bin"
fi
exec "$bin" -f docker-compose.yml config --quiet
