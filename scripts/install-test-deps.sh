#!/usr/bin/env bash
# Installs what the real-peer integration suite (tests/integration) needs on Debian 12,
# and creates its FTP user. Idempotent: run it as often as you like, as root.
set -euo pipefail

packages=(
    vsftpd              # FTP server under test
    python3-pyftpdlib   # second FTP server (imports under /usr/bin/python3 only)
    python3-pytest      # the runner, for /usr/bin/python3
    lftp tnftp curl     # FTP clients
    iproute2            # ip netns, veth, bridge; ss
    nftables tcpdump    # for debugging flows by hand
    procps              # sysctl
    openssl             # self-signed certificate so vsftpd offers AUTH TLS
    haproxy             # a real PROXY protocol receiver (accept-proxy)
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

# The FTP user of every test server. vsftpd authenticates it through PAM, whose
# Debian config wants a shell listed in /etc/shells. SHA512 keeps logins cheap.
if ! id ftptest >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh ftptest
fi
echo 'ftptest:ftptest-pw' | chpasswd -c SHA512

# vsftpd refuses to start without its empty chroot directory.
mkdir -p /var/run/vsftpd/empty

echo "integration test dependencies ready"
