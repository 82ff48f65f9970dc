#!/usr/bin/env bash
# Builds the source RPM and the noarch RPM with rpmbuild -ba, as a distribution's builder would:
# from a source tarball of the project's files, a tarball of the locked npm packages the build
# uses (packaging/vendor-modules.mjs) and the spec; the bundle is made in the spec's %build.
# Prints the source RPM's path, then the RPM's path last (--srpm: the source RPM only).
#
# usage: packaging/build-rpm.sh [--version V] [--release R] [--upgrades DIR] [--outdir DIR] [--srpm]
#   --version, --release: default the spec's (package.json's version, a test keeps them equal);
#     another one is written into the package.json of the tarball and into the spec built from,
#     with a changelog entry saying what was built (packaging/rpm-spec.mjs)
#   --upgrades DIR: the upgrade steps are DIR's instead of upgrades/ (the tests build version N
#     and N+1 of the package): DIR's folders go into the tarball's upgrades/, those that are
#     links to another folder of the project as links to it (a step's imports then resolve
#     as in the checkout)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
spec=$repo/packaging/pki-db-upgrade.spec
version= release= upgrades= outdir=$repo/dist/rpm mode=-ba
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=$2; shift 2 ;;
    --release) release=$2; shift 2 ;;
    --upgrades) upgrades=$2; shift 2 ;;
    --outdir) outdir=$2; shift 2 ;;
    --srpm) mode=-bs; shift ;;
    *) echo "build-rpm.sh: unknown argument $1 (usage: [--version V] [--release R] [--upgrades DIR] [--outdir DIR] [--srpm])" >&2; exit 2 ;;
  esac
done
command -v rpmbuild >/dev/null || { echo "build-rpm.sh: rpmbuild not found: run make deps (test/install-system-deps.sh)" >&2; exit 2; }
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
spec_release=$(sed -n 's/^Release:[[:space:]]*\([^%]*\).*/\1/p' "$spec")
package_version=$(node -p "require('$repo/package.json').version")
version=${version:-$package_version}
release=${release:-$spec_release}
# RPM versions cannot hold "-": a semver pre-release 1.2.0-rc.1 becomes 1.2.0~rc.1 (sorts before 1.2.0).
rpm_version=${version//-/\~}
[[ "$version" =~ ^[0-9][0-9A-Za-z.+-]*$ ]] || { echo "build-rpm.sh: bad --version \"$version\"" >&2; exit 2; }
[[ "$release" =~ ^[0-9A-Za-z._+~]+$ ]] || { echo "build-rpm.sh: bad --release \"$release\"" >&2; exit 2; }
if [ -n "$upgrades" ]; then
  upgrades=$(cd "$upgrades" && pwd -P)
  [ "$upgrades" = "$(cd "$repo/upgrades" && pwd -P)" ] && upgrades=
fi

top=$(mktemp -d "${TMPDIR:-/tmp}/pki-db-upgrade-rpmbuild.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SOURCES" "$top/SPECS" "$top/stage" "$top/rpmdb" "$outdir"
name=pki-db-upgrade-$rpm_version
tree=$top/stage/$name
mkdir "$tree"
# Reproducible tarballs: the time of the last commit (or SOURCE_DATE_EPOCH), owner root, sorted.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
tar_opts=(--sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner)

# Source0: the files git tracks, and new ones it does not ignore, as they are in the working tree
# (no node_modules, no dist); outside a git checkout (an unpacked source tarball) every file.
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi # not a file deleted in the working tree
  done) | tar -C "$repo" --null --no-recursion -T - -cf - | tar -C "$tree" -xf -
else
  tar -C "$repo" --exclude=./node_modules --exclude=./dist --exclude=./.git -cf - . | tar -C "$tree" -xf -
fi
if [ -n "$upgrades" ]; then
  rm -rf "$tree/upgrades"
  mkdir "$tree/upgrades"
  for entry in "$upgrades"/*; do
    [ -d "$entry" ] || continue # registry.generated.ts, made at build time
    real=$(cd "$entry" && pwd -P)
    rel=${real#"$repo"/}
    if [ "$rel" != "$real" ] && [[ "$rel" != upgrades/* ]] && [ -e "$tree/$rel" ]; then
      ln -s "../$rel" "$tree/upgrades/$(basename "$entry")"
    else
      cp -RL "$entry" "$tree/upgrades/"
    fi
  done
fi
if [ "$version" != "$package_version" ]; then
  (cd "$tree" && node -e '
    const fs = require("fs");
    const set = (file, edit) => { const j = JSON.parse(fs.readFileSync(file, "utf8")); edit(j); fs.writeFileSync(file, JSON.stringify(j, null, 2) + "\n"); };
    set("package.json", (j) => { j.version = process.argv[1]; });
    set("package-lock.json", (j) => { j.version = process.argv[1]; j.packages[""].version = process.argv[1]; });
  ' "$version")
fi
tar "${tar_opts[@]}" -C "$top/stage" -czf "$top/SOURCES/$name.tar.gz" "$name"

# Source1: node_modules with only the packages the build needs, as npm ci installed them here.
[ -d "$repo/node_modules" ] || { echo "build-rpm.sh: no node_modules: run npm ci (make deps)" >&2; exit 2; }
node "$repo/packaging/vendor-modules.mjs" --check --root "$repo" >/dev/null
node "$repo/packaging/vendor-modules.mjs" --list --root "$repo" \
  | tar "${tar_opts[@]}" -C "$repo" -T - -czf "$top/SOURCES/$name-nm-build.tar.gz"

# The spec, for this version and release (unchanged for the spec's own).
note="Built by packaging/build-rpm.sh as $rpm_version-$release from the sources of $spec_version-$spec_release"
[ -z "$upgrades" ] || note="$note, with the upgrade steps of $(basename "$upgrades")"
node "$repo/packaging/rpm-spec.mjs" --version "$rpm_version" --release "$release" --note "$note (not a release)" "$spec" > "$top/SPECS/pki-db-upgrade.spec"

# Debian's rpm runs brp-compress (man page compression) with /bin/sh = dash, which it does not
# support (read -d): run it with bash there, so the man page is compressed as on Fedora.
brp=()
if [ "$(readlink -f /bin/sh)" != "$(readlink -f "$(command -v bash)")" ]; then
  brp=(--define "__brp_compress bash $(rpm --eval '%{_rpmconfigdir}')/brp-compress %{?_prefix}")
fi

# --dbpath: rpmbuild must not depend on (or touch) the host's rpm database; Debian's default is
# ~/.rpmdb. --nodeps: that empty database knows no BuildRequires (node comes from apt on Debian);
# %build fails plainly without node.
rpmbuild --quiet "$mode" --nodeps "${brp[@]}" \
  --dbpath "$top/rpmdb" \
  --define "_topdir $top" \
  "$top/SPECS/pki-db-upgrade.spec" >&2

srpm=$(find "$top/SRPMS" -name "$name-$release*.src.rpm" | head -n 1)
[ -n "$srpm" ] || { echo "build-rpm.sh: rpmbuild made no source RPM" >&2; exit 1; }
cp "$srpm" "$outdir/"
echo "$outdir/$(basename "$srpm")"
if [ "$mode" = -ba ]; then
  rpm_file=$(find "$top/RPMS" -name "$name-$release*.noarch.rpm" | head -n 1)
  [ -n "$rpm_file" ] || { echo "build-rpm.sh: rpmbuild made no RPM" >&2; exit 1; }
  cp "$rpm_file" "$outdir/"
  echo "$outdir/$(basename "$rpm_file")"
fi
