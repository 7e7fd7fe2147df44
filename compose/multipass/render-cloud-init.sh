#!/bin/sh
# Writes cloud-init.yaml: its header plus copies of compose/provision/weft-node.sh and compose/systemd/
# (weftd.service, weftd.yaml, weftd.default). Run after changing any of them; a test compares the copies.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
compose=$(cd "$here/.." && pwd)
{
  sed -n '1,/^write_files:$/p' "$here/cloud-init.yaml"
  for entry in provision/weft-node.sh:0755 systemd/weftd.service:0644 systemd/weftd.yaml:0644 systemd/weftd.default:0644; do
    file=${entry%:*} mode=${entry#*:}
    printf '  - path: /opt/weft-compose/%s\n    permissions: "%s"\n    content: |\n' "$file" "$mode"
    sed -e 's/^\(.\)/      \1/' "$compose/$file"
  done
} > "$here/cloud-init.yaml.new"
mv "$here/cloud-init.yaml.new" "$here/cloud-init.yaml"
