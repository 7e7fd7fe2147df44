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
# What the integration and e2e tests need from the host; installed when missing, and said so.
missing=()
for pair in dnsmasq:dnsmasq-base etcd:etcd-server etcdctl:etcd-client ip:iproute2 bridge:iproute2 nft:nftables ping:iputils-ping curl:curl openssl:openssl conntrack:conntrack cc:gcc cc:libc6-dev podman:podman dockerd:docker.io runc:runc busybox:busybox-static promtool:prometheus docker-compose:docker-compose cloud-init:cloud-init vagrant:vagrant debootstrap:debootstrap chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "npm test: installing missing packages with apt-get: $pkgs"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null || {
    echo "npm test: could not install $pkgs; install them with 'apt-get install -y $pkgs'" >&2
    exit 1
  }
  # Installed to run or validate things in the tests only: none of it may start services on this
  # machine (dockerd's FORWARD drop would also cut the lab's egress).
  for pkg in $pkgs; do
    case "$pkg" in
      docker.io) units="docker.service docker.socket" ;;
      prometheus) units="prometheus.service" ;;
      etcd-server) units="etcd.service" ;;
      cloud-init) mkdir -p /etc/cloud && touch /etc/cloud/cloud-init.disabled
        echo "npm test: cloud-init is installed for 'cloud-init schema' only: disabled at boot (/etc/cloud/cloud-init.disabled)"
        continue ;;
      *) continue ;;
    esac
    if [ -d /run/systemd/system ]; then
      systemctl disable --now $units >/dev/null 2>&1 && echo "npm test: $pkg is installed for the tests only: stopped and disabled $units"
    fi
  done
fi
export NO_COLOR=1
npm run --silent check:generated || exit 1
npx tsc --noEmit -p . || exit 1
npm run --silent check:deps || {
  echo "npm test: an import breaks the layer rules (listed above; the rules and their reasons are in .dependency-cruiser.cjs)." >&2
  exit 1
}
exec npx vitest run --reporter=default --reporter=json --outputFile.json=test-results.json "$@"
