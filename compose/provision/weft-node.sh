#!/bin/sh
# Provisions one weft node on Debian 12 / Ubuntu 22.04+: the packages weftd runs, etcd on the first
# node only, weftd's config, environment file and systemd unit. Shared by compose/Vagrantfile and
# compose/multipass/cloud-init.yaml, and run for real by test/e2e/ops-provision.test.ts (a Debian 12
# root with systemd as PID 1). Running it again changes nothing that is already right.
#
#   weft-node.sh NODE_NAME UNDERLAY_IFACE ETCD_IP [etcd]
#
# The underlay interface is named explicitly: Vagrant's NAT interface has the same address
# (10.0.2.15) on every VM, and an agent that picked it would advertise an address every node shares.
# weftd comes from the release tarball (compose/install/build-release.sh): WEFT_RELEASE names it, or
# it is already installed at /usr/bin/weftd.
set -eu
if [ $# -lt 3 ]; then
  echo "usage: $0 NODE_NAME UNDERLAY_IFACE ETCD_IP [etcd]" >&2
  exit 2
fi
node=$1 iface=$2 etcd_ip=$3 role=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
systemd_dir=${WEFT_SYSTEMD_SOURCE:-$here/../systemd}

# Installs the packages not installed yet; apt-get (and the archive) only when one is missing.
install_packages() {
  missing=
  for pkg in "$@"; do
    dpkg-query -W -f '${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $pkg"
  done
  [ -n "$missing" ] || return 0
  echo "weft-node.sh: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $missing
}

install_packages iproute2 nftables conntrack util-linux

if [ "$role" = etcd ]; then
  # Debian's etcd-server enables and starts an etcd on 127.0.0.1 only: reconfigure it for the cluster.
  install_packages etcd-server
  cat > /etc/default/etcd.weft <<CONF
ETCD_NAME=$node
ETCD_LISTEN_CLIENT_URLS=http://$etcd_ip:2379,http://127.0.0.1:2379
ETCD_ADVERTISE_CLIENT_URLS=http://$etcd_ip:2379
CONF
  if cmp -s /etc/default/etcd.weft /etc/default/etcd && systemctl is-active --quiet etcd; then
    rm /etc/default/etcd.weft
  else
    mv /etc/default/etcd.weft /etc/default/etcd
    systemctl enable etcd
    systemctl restart etcd
  fi
fi

changed=
# Puts SRC at DEST (mode 0644) unless DEST already has that content; notes a change.
put() {
  if ! cmp -s "$1" "$2"; then
    install -m 0644 "$1" "$2.weft-new"
    mv "$2.weft-new" "$2"
    changed=yes
  fi
}

if [ -n "${WEFT_RELEASE:-}" ]; then
  sum=$(sha256sum < "$WEFT_RELEASE")
  if [ "$(cat /opt/weft/.release-sha256 2>/dev/null)" != "$sum" ]; then
    tar -C / -xzf "$WEFT_RELEASE"
    echo "$sum" > /opt/weft/.release-sha256
    changed=yes
  fi
fi
/usr/bin/weftd --version

# The files as compose/systemd/ has them; /etc/default/weftd with this node's name, underlay and etcd.
install -d -m 0755 /etc/weft
put "$systemd_dir/weftd.yaml" /etc/weft/weftd.yaml
sed -e "s|^#\{0,1\}WEFT_NODE_NAME=.*|WEFT_NODE_NAME=$node|" \
    -e "s|^#\{0,1\}WEFT_UNDERLAY_IFACE=.*|WEFT_UNDERLAY_IFACE=$iface|" \
    -e "s|^#\{0,1\}WEFT_ETCD_ENDPOINTS=.*|WEFT_ETCD_ENDPOINTS=http://$etcd_ip:2379|" \
    "$systemd_dir/weftd.default" > /etc/default/weftd.node
put /etc/default/weftd.node /etc/default/weftd
rm /etc/default/weftd.node
put "$systemd_dir/weftd.service" /etc/systemd/system/weftd.service
systemctl daemon-reload
systemctl enable weftd.service
# weftd is Type=notify: active once registered in etcd, synced and reconciled. A node whose etcd is
# not up yet (the first VM still provisioning) is restarted by systemd every 5 s until it is; wait
# for that, up to WEFT_READY_TIMEOUT seconds.
if [ -n "$changed" ]; then
  systemctl restart --no-block weftd.service
else
  systemctl start --no-block weftd.service
fi
waited=0
until [ "$(systemctl show -P ActiveState weftd.service)" = active ] && [ -z "$(systemctl list-jobs --no-legend weftd.service)" ]; do
  if [ "$waited" -ge "${WEFT_READY_TIMEOUT:-180}" ]; then
    echo "weft-node.sh: weftd.service is not active after ${waited} s:" >&2
    systemctl status --no-pager weftd.service >&2 || true
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "weft-node.sh: weftd.service is active: $(systemctl show -P StatusText weftd.service)"
