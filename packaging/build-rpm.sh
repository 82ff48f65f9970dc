#!/usr/bin/env bash
# Builds the noarch RPM: bundles the tool around an upgrades folder at the given version, makes
# the man page, and runs rpmbuild in a throw-away top directory. Prints the RPM's path last.
#
# usage: packaging/build-rpm.sh --version V [--release R] [--upgrades DIR] [--outdir DIR]
#   (make rpm passes the version of package.json; tests build version N and N+1 of the package)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version= release=1 upgrades=$repo/upgrades outdir=$repo/dist/rpm
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=$2; shift 2 ;;
    --release) release=$2; shift 2 ;;
    --upgrades) upgrades=$2; shift 2 ;;
    --outdir) outdir=$2; shift 2 ;;
    *) echo "build-rpm.sh: unknown argument $1 (usage: --version V [--release R] [--upgrades DIR] [--outdir DIR])" >&2; exit 2 ;;
  esac
done
[ -n "$version" ] || { echo "build-rpm.sh: --version is required" >&2; exit 2; }
command -v rpmbuild >/dev/null || { echo "build-rpm.sh: rpmbuild not found: run make deps (test/install-system-deps.sh)" >&2; exit 2; }
# RPM versions cannot hold "-": a semver pre-release 1.2.0-rc.1 becomes 1.2.0~rc.1 (sorts before 1.2.0).
rpm_version=${version//-/\~}
[[ "$release" =~ ^[0-9A-Za-z._+~]+$ ]] || { echo "build-rpm.sh: bad --release \"$release\"" >&2; exit 2; }

top=$(mktemp -d "${TMPDIR:-/tmp}/pki-db-upgrade-rpmbuild.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SOURCES" "$top/rpmdb" "$outdir"

# --bundled: what the bundle holds from node_modules (Provides, License, license texts: bundled-modules.mjs).
node "$repo/packaging/build.mjs" --upgrades "$upgrades" --package-version "$version" --out "$top/SOURCES/pki-db-upgrade.js" --bundled "$top/SOURCES/bundled" >/dev/null
cp "$top/SOURCES/bundled/bundled.macros" "$top/SOURCES/"
node "$repo/packaging/md2man.mjs" --version "$version" "$repo/packaging/pki-db-upgrade.8.md" > "$top/SOURCES/pki-db-upgrade.8"
cp "$repo/packaging/db-upgrade.conf" "$repo/README.md" "$repo/LICENSE" "$repo"/docs/*.md "$top/SOURCES/"

# Debian's rpm runs brp-compress (man page compression) with /bin/sh = dash, which it does not
# support (read -d): run it with bash there, so the man page is compressed as on Fedora.
brp=()
if [ "$(readlink -f /bin/sh)" != "$(readlink -f "$(command -v bash)")" ]; then
  brp=(--define "__brp_compress bash $(rpm --eval '%{_rpmconfigdir}')/brp-compress %{?_prefix}")
fi

# --dbpath: rpmbuild must not depend on (or touch) the host's rpm database; Debian's default is ~/.rpmdb.
rpmbuild --quiet -bb "${brp[@]}" \
  --dbpath "$top/rpmdb" \
  --define "_topdir $top" \
  --define "pkg_version $rpm_version" \
  --define "pkg_release $release" \
  "$repo/packaging/pki-db-upgrade.spec" >&2

rpm_file=$(find "$top/RPMS" -name 'pki-db-upgrade-*.noarch.rpm' | head -n 1)
[ -n "$rpm_file" ] || { echo "build-rpm.sh: rpmbuild made no RPM" >&2; exit 1; }
cp "$rpm_file" "$outdir/"
echo "$outdir/$(basename "$rpm_file")"
