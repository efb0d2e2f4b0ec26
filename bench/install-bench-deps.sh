#!/usr/bin/env bash
# What bench/compare.py needs beyond the integration suite's dependencies: HAProxy, and ProFTPD
# with mod_proxy. proftpd-core conflicts with vsftpd (both provide ftp-server), so ProFTPD and
# its modules are downloaded and unpacked into .test-deps/proftpd (ignored by git), never
# installed; only their libraries are. As root; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh

libraries=(libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libsqlite3-0 libsodium23)
missing=()
for package in haproxy "${libraries[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

target=.test-deps/proftpd
if [[ ! -x $target/usr/sbin/proftpd || ! -e $target/usr/lib/proftpd/mod_proxy.so ]]; then
    download=$(mktemp -d)
    chmod 755 "$download"
    if id _apt >/dev/null 2>&1; then chown _apt "$download"; fi
    (cd "$download" && apt-get download -q proftpd-core proftpd-mod-proxy proftpd-mod-crypto)
    rm -rf "$target.new"
    mkdir -p "$target.new"
    for package in "$download"/*.deb; do dpkg -x "$package" "$target.new"; done
    rm -rf "$download" "$target"
    mv "$target.new" "$target"
fi
if ldd "$target/usr/sbin/proftpd" "$target/usr/lib/proftpd/mod_proxy.so" | grep 'not found'; then
    echo "ProFTPD in $target misses the libraries above" >&2
    exit 1
fi
echo "benchmark dependencies ready"
