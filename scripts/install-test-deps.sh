#!/usr/bin/env bash
# Installs what the real-peer integration suite (tests/integration) needs on Debian 12,
# and creates its FTP user. Idempotent: run it as often as you like, as root.
set -euo pipefail

packages=(
    vsftpd              # FTP server under test
    python3-pyftpdlib   # second FTP server (imports under /usr/bin/python3 only)
    python3-openssl     # pyftpdlib's TLS_FTPHandler (the FTPS tests' plain FTPS server)
    python3-pytest      # the runner, for /usr/bin/python3
    python3-prometheus-client  # test_metrics.py parses /metrics with its text-format parser
    lftp tnftp curl     # FTP clients
    iproute2            # ip netns, veth, bridge; ss
    nftables            # for debugging flows by hand
    tcpdump             # test_capture_filter.py, test_ftps_peers.py: what crosses lo in clear
    procps              # sysctl
    openssl             # certificates: vsftpd's self-signed one, the FTPS tests' test CA
    haproxy             # a real PROXY protocol receiver (accept-proxy)
    keepalived          # test_ha_pair.py: VRRP for the active/standby pair
    bird2               # test_ecmp.py's BIRD variant (FTPLB_TEST_BIRD=1): BGP announce/withdraw
    faketime            # test_faked_dates.py: the date-dependent tests on other days of a month
    dpkg-dev binutils   # packaging/build-deb.sh (dpkg-shlibdeps, objcopy), for test_package.py
    logrotate           # test_package.py rotates the transfer log with the package's logrotate file
    systemd util-linux  # test_package.py: systemd-analyze verify (needs no running systemd), setpriv, prlimit
    chromium-headless-shell python3-websocket  # test_status_page.py: a real browser, over DevTools
    # pure-ftpd's and ProFTPD's libraries: the servers themselves are unpacked below
    libc6 libcap2 libcrypt1 libpam0g libsodium23 libssl3
    libacl1 libhiredis0.14 libidn2-0 libmemcached11 libmemcachedutil2 libncursesw6
    libpcre2-8-0 libpcre2-posix3 libtinfo6 zlib1g
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]})); then
    # Package scripts must not start daemons: a vsftpd started by its postinst would
    # hold 0.0.0.0:21 and collide with the servers the suite starts itself.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# pure-ftpd and ProFTPD (with mod_tls from proftpd-mod-crypto), the other real servers.
# Their packages conflict with vsftpd's and with each other (all provide ftp-server), so they
# are downloaded and unpacked into .test-deps/NAME of this work tree (ignored by git), never
# installed; tests run .test-deps/pure-ftpd/usr/sbin/pure-ftpd and
# .test-deps/proftpd/usr/sbin/proftpd. A new package in the list is unpacked on the next run.
repo=$(cd "$(dirname "$0")/.." && pwd)

unpack() {  # unpack DIR BINARY PACKAGE...: the packages into .test-deps/DIR, unless there
    local dir="$repo/.test-deps/$1" binary=$2 stamp download
    shift 2
    stamp="$*"
    if [[ -x $dir/$binary && $(cat "$dir/.packages" 2>/dev/null) == "$stamp" ]]; then
        return
    fi
    download=$(mktemp -d)
    chmod 755 "$download"
    # apt-get download drops privileges to _apt where it can write.
    if id _apt >/dev/null 2>&1; then chown _apt "$download"; fi
    if ! (cd "$download" && apt-get download -q "$@"); then
        apt-get update -q  # a fresh machine may have no package lists yet
        (cd "$download" && apt-get download -q "$@")
    fi
    rm -rf "$dir.new"
    mkdir -p "$dir.new"
    for deb in "$download"/*.deb; do dpkg -x "$deb" "$dir.new"; done
    echo "$stamp" >"$dir.new/.packages"
    rm -rf "$download" "$dir"
    mv "$dir.new" "$dir"
    if ldd "$dir/$binary" | grep 'not found'; then
        echo "$binary in $dir misses the libraries above" >&2
        exit 1
    fi
}

unpack pure-ftpd usr/sbin/pure-ftpd pure-ftpd
unpack proftpd usr/sbin/proftpd proftpd-core proftpd-mod-crypto
if ldd "$repo/.test-deps/proftpd/usr/lib/proftpd/mod_tls.so" | grep 'not found'; then
    echo "ProFTPD's mod_tls in $repo/.test-deps/proftpd misses the libraries above" >&2
    exit 1
fi

# The FTP user of every test server. vsftpd authenticates it through PAM, whose
# Debian config wants a shell listed in /etc/shells; pure-ftpd (-l unix) and ProFTPD
# (mod_auth_unix) read /etc/shadow themselves. SHA512 keeps logins cheap.
if ! id ftptest >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh ftptest
fi
echo 'ftptest:ftptest-pw' | chpasswd -c SHA512

# vsftpd refuses to start without its empty chroot directory.
mkdir -p /var/run/vsftpd/empty

echo "integration test dependencies ready"
