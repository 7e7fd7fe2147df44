#!/bin/sh
# Builds the local images compose/docker-compose.yml uses, from Debian's archive and this checkout, with
# no registry: weft-debian:12 (debootstrap + docker import), then etcd, prometheus and the agent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ! docker image inspect weft-debian:12 >/dev/null 2>&1; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase bookworm "$root" "$mirror"
  tar -C "$root" -c . | docker import - weft-debian:12
fi

(cd "$repo" && npm run build)
cp "$(command -v node)" "$here/agent/node"
docker-compose -f "$repo/compose/docker-compose.yml" build
