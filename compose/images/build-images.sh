#!/bin/sh
# Builds the local images compose/docker-compose.yml uses, from Debian's archive and this checkout, with
# no registry: weft-debian:12 (a debootstrap root, `docker import`ed), then etcd and Prometheus from
# Debian's packages and the agent from the release tarball (compose/install/build-release.sh).
#
#   build-images.sh
#
# DOCKER_HOST picks the daemon as for docker itself. WEFT_DEBIAN_ROOT=DIR imports that Debian 12 root
# instead of running debootstrap; WEFT_RELEASE=FILE uses that release tarball instead of building one.
# Images that exist are reused (weft-debian:12 as it is; the others through docker's build cache).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"; rm -f "$here/agent/weft-release.tar.gz"' EXIT

if ! docker image inspect weft-debian:12 >/dev/null 2>&1; then
  root=${WEFT_DEBIAN_ROOT:-}
  if [ -z "$root" ]; then
    root=$scratch/root
    debootstrap --variant=minbase bookworm "$root" "$mirror"
  fi
  tar -C "$root" -c . | docker import - weft-debian:12
fi

# The agent image installs the release as a real node does (the install path of the README).
release=${WEFT_RELEASE:-}
if [ -z "$release" ]; then
  release=$("$repo/compose/install/build-release.sh" "$scratch" | tail -n 1)
fi
cp "$release" "$here/agent/weft-release.tar.gz"
docker-compose -f "$repo/compose/docker-compose.yml" build etcd weft1 prometheus
