#!/usr/bin/env bash
# Builds the Debian package of ftplb from this tree: a release binary with the Swift runtime
# linked in (no Swift toolchain on the server), its configuration, system user, systemd unit and
# logrotate file. Needs Swift, git and dpkg-dev (dpkg-shlibdeps); no network beyond what
# `swift build` already has in its checkouts.
#
#   packaging/build-deb.sh [OUTPUT_DIR]     # default .build-deb; prints the .deb's path last
#
# The release build has its own scratch path, so it never waits for the debug build's lock,
# and SwiftPM reuses it: an unchanged tree rebuilds nothing, a new commit recompiles little.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
output=${1:-$repo/.build-deb}
mkdir -p "$output"
output=$(cd "$output" && pwd)

# The revision, compiled into `ftplb --version` (Package.swift reads FTPLB_REVISION). A tree
# with changes not committed says so, since the commit alone does not describe it.
revision="" commits=""
if git rev-parse --git-dir >/dev/null 2>&1; then
    revision=$(git rev-parse --short=12 HEAD)
    commits=$(git rev-list --count HEAD)
    if [[ -n $(git status --porcelain) ]]; then revision+="-modified"; fi
fi
export FTPLB_REVISION=$revision

swift build -c release --static-swift-stdlib --product ftplb --scratch-path .build-release
binary=.build-release/release/ftplb

# The release number is written once, in the source (FTPLoadBalancerVersion.swift): ask the
# binary, which also proves it carries the revision asked for.
reported=$("$binary" --version)
number=${reported%% *}
if [[ $reported != "$number (revision ${revision:-unknown})" ]]; then
    echo "build-deb.sh: the binary says '$reported', expected revision ${revision:-unknown}" >&2
    exit 1
fi
# 0.9.0+git124.4c43725b1d2e(.modified): the commit count orders builds of one branch for dpkg.
version=$number${revision:++git$commits.${revision/-/.}}
architecture=$(dpkg --print-architecture)

root=$output/root
rm -rf "$root"
# Debug information is dropped, the symbol table kept: a crash report still names functions.
install -d "$root/usr/bin"
objcopy --strip-debug "$binary" "$root/usr/bin/ftplb"
chmod 0755 "$root/usr/bin/ftplb"
install -D -m 0644 packaging/ftplb.yaml "$root/etc/ftplb/ftplb.yaml"
install -D -m 0644 packaging/ftplb.logrotate "$root/etc/logrotate.d/ftplb"
install -D -m 0644 packaging/ftplb.service "$root/usr/lib/systemd/system/ftplb.service"
install -D -m 0644 packaging/transparent.conf "$root/usr/share/ftplb/transparent.conf"
# keepalived's and BIRD's checks of /healthz: root-owned, where enable_script_security accepts them.
install -D -m 0755 examples/keepalived/ftplb-healthz-check "$root/usr/lib/ftplb/ftplb-healthz-check"
install -D -m 0755 examples/bird/ftplb-bird-health "$root/usr/lib/ftplb/ftplb-bird-health"
install -D -m 0644 examples/keepalived/keepalived.conf "$root/usr/share/doc/ftplb/examples/keepalived.conf"
install -D -m 0644 examples/bird/bird.conf "$root/usr/share/doc/ftplb/examples/bird.conf"
install -D -m 0644 README.md "$root/usr/share/doc/ftplb/README.md"

install -d "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
printf '%s\n' /etc/ftplb/ftplb.yaml /etc/logrotate.d/ftplb >"$root/DEBIAN/conffiles"

# The shared libraries the binary still uses (glibc, libstdc++...), as package dependencies.
# dpkg-shlibdeps wants a debian/control to read; an empty one of its own will do.
shlibs_dir=$(mktemp -d)
trap 'rm -rf "$shlibs_dir"' EXIT
mkdir "$shlibs_dir/debian"
printf 'Source: ftplb\n\nPackage: ftplb\nArchitecture: any\n' >"$shlibs_dir/debian/control"
libraries=$(cd "$shlibs_dir" && dpkg-shlibdeps -O "$root/usr/bin/ftplb" | sed -n 's/^shlibs:Depends=//p')

cat >"$root/DEBIAN/control" <<CONTROL
Package: ftplb
Version: $version
Architecture: $architecture
Maintainer: FTPBalancer developers <ftplb@example.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $libraries, adduser, init-system-helpers (>= 1.54~)
Recommends: logrotate
Suggests: nftables, iproute2
Section: net
Priority: optional
Description: FTP-aware load balancer
 ftplb listens on one virtual address, spreads FTP control connections over a
 pool of FTP servers and relays every data connection, passive (PASV, EPSV)
 and active (PORT, EPRT), so that clients only ever see the virtual address.
 Runs as the system user ftplb under systemd.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"

deb=$output/ftplb_${version}_${architecture}.deb
rm -f "$output"/ftplb_*.deb  # earlier builds: about 30 MB each
# gzip: xz would make it a third smaller (19 MB instead of 29 MB) for 45 s more of one core.
dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >/dev/null
echo "$deb"
