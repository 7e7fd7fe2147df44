#!/bin/sh
# Provisions one weft node on Debian 12 / Ubuntu 22.04+: the packages weftd runs, etcd on the first
# node only, weftd's config, environment file and systemd unit. Shared by compose/Vagrantfile and
# compose/multipass/cloud-init.yaml.
#
#   weft-node.sh NODE_NAME UNDERLAY_IFACE ETCD_IP [etcd]
#
# The underlay interface is named explicitly: Vagrant's NAT interface has the same address
# (10.0.2.15) on every VM, and an agent that picked it would advertise an address every node shares.
# weftd comes from the release tarball (compose/install/build-release.sh): WEFT_RELEASE names it, or
# it is already installed at /usr/bin/weftd.
set -eu
node=$1 iface=$2 etcd_ip=$3 role=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
systemd_dir=${WEFT_SYSTEMD_SOURCE:-$here/../systemd}

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends iproute2 nftables conntrack util-linux ca-certificates

if [ "$role" = etcd ]; then
  # Debian's etcd-server enables and starts an etcd on 127.0.0.1 only: reconfigure it for the cluster.
  apt-get install -y --no-install-recommends etcd-server
  cat > /etc/default/etcd <<CONF
ETCD_NAME=$node
ETCD_LISTEN_CLIENT_URLS=http://$etcd_ip:2379,http://127.0.0.1:2379
ETCD_ADVERTISE_CLIENT_URLS=http://$etcd_ip:2379
CONF
  systemctl restart etcd
fi

if [ -n "${WEFT_RELEASE:-}" ]; then
  tar -C / -xzf "$WEFT_RELEASE"
fi
/usr/bin/weftd --version

install -d -m 0755 /etc/weft
install -m 0644 "$systemd_dir/weftd.yaml" /etc/weft/weftd.yaml
cat > /etc/default/weftd <<CONF
WEFT_NODE_NAME=$node
WEFT_UNDERLAY_IFACE=$iface
WEFT_ETCD_ENDPOINTS=http://$etcd_ip:2379
WEFTD_ARGS=
CONF
install -m 0644 "$systemd_dir/weftd.service" /etc/systemd/system/weftd.service
systemctl daemon-reload
systemctl enable --now weftd.service
