#!/bin/sh
# Builds the install tarball for real nodes: weft compiled, its production dependencies, and the Node
# that runs it (Debian 12's own nodejs is 18; weft needs 20+), all under /opt/weft, with /usr/bin/weftd
# and /usr/bin/weft wrappers. A machine with only its distribution's archive installs it with
#
#   tar -C / -xzf weft-VERSION-linux-x64.tar.gz
#
#   build-release.sh OUT_DIR      (prints the tarball's path)
set -eu
out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(node -p "require('$repo/package.json').version")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
opt="$stage/opt/weft"
mkdir -p "$opt/bin" "$stage/usr/bin"

# Compiled straight into the release, never into the checkout's dist/: the tests build releases while
# other tests start weft from dist/, which must not change under them.
(cd "$repo" && npx tsc -p tsconfig.build.json --outDir "$opt/dist")
touch "$opt/dist/.built"
cp "$repo/package.json" "$opt/"
# Production dependencies only, as npm resolved them (npm ls lists the installed tree).
(cd "$repo" && npm ls --omit=dev --all --parseable) | while read -r dir; do
  case "$dir" in
    */node_modules/*) rel=node_modules/${dir#*/node_modules/}; mkdir -p "$opt/$rel"; cp -R "$dir/." "$opt/$rel/" ;;
  esac
done
cp "$(node -p process.execPath)" "$opt/bin/node"

# exec keeps the PID: systemd's NotifyAccess=main sees weftd's own notifications.
cat > "$stage/usr/bin/weftd" <<'SH'
#!/bin/sh
exec /opt/weft/bin/node --max-semi-space-size=2 --optimize-for-size /opt/weft/dist/agent/weftd.js "$@"
SH
cat > "$stage/usr/bin/weft" <<'SH'
#!/bin/sh
exec /opt/weft/bin/node /opt/weft/dist/agent/cli/main.js "$@"
SH
chmod 0755 "$stage/usr/bin/weftd" "$stage/usr/bin/weft"
tarball="$out/weft-$version-linux-$(uname -m).tar.gz"
tar -C "$stage" --owner=0 --group=0 -czf "$tarball" opt usr
echo "$tarball"
