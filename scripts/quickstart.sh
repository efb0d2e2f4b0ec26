#!/usr/bin/env bash
# Brings ftplb up in front of two real FTP servers on this host's loopback range:
# installs what is missing (Debian), builds ftplb (or takes FTPLB_BIN), starts two pyftpdlib
# servers and ftplb with examples/ftplb.yaml, and prints how to connect. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

need=()
/usr/bin/python3 -c 'import pyftpdlib' 2>/dev/null || need+=(python3-pyftpdlib)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

if [ -n "${FTPLB_BIN:-}" ]; then
  ftplb=$FTPLB_BIN  # a binary built already, or the package's /usr/bin/ftplb
else
  echo "building ftplb (the first build takes a few minutes)..."
  swift build -c release --product ftplb
  ftplb="$(swift build -c release --show-bin-path)/ftplb"
fi

state=$(mktemp -d /tmp/ftplb-quickstart.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

config="$root/examples/ftplb.yaml"
if [ "$(id -u)" != 0 ]; then
  # Port 20 needs root: let the kernel choose the source port of active connections.
  sed 's/active_source_port: 20 .*/active_source_port: 0/' "$config" > "$state/ftplb.yaml"
  config="$state/ftplb.yaml"
fi

start_server() {  # NAME ADDRESS PASSIVE-RANGE
  mkdir -p "$state/$1"
  echo "this file lives on ftp-$1" > "$state/$1/hello-from-$1.txt"
  head -c 10485760 /dev/urandom > "$state/$1/10MiB.bin"
  /usr/bin/python3 "$root/scripts/ftp-server.py" --address "$2" --port 2121 \
    --root "$state/$1" --passive-ports "$3" > "$state/ftp-$1.log" 2>&1 &
  pids+=($!)
}
start_server a 127.0.0.11 50000-50099
start_server b 127.0.0.12 51000-51099
# Wait for both servers to accept connections (at most 10 s).
for _ in $(seq 1 50); do
  if (exec 3<>/dev/tcp/127.0.0.11/2121) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.12/2121) 2>/dev/null; then break; fi
  sleep 0.2
done

"$ftplb" run --config "$config" &
pids+=($!)
# Wait for ftplb to accept connections (at most 10 s).
for _ in $(seq 1 50); do
  if (exec 3<>/dev/tcp/127.0.0.1/2121) 2>/dev/null; then break; fi
  sleep 0.2
done

cat <<MSG

ftplb ($ftplb) is listening on 127.0.0.1:2121 in front of ftp-a (127.0.0.11:2121) and
ftp-b (127.0.0.12:2121). User "demo", password "demo". Try:

  curl ftp://demo:demo@127.0.0.1:2121/                 # passive (EPSV), lists one server's files
  curl --disable-epsv ftp://demo:demo@127.0.0.1:2121/  # PASV
  curl -P - ftp://demo:demo@127.0.0.1:2121/10MiB.bin -o /dev/null   # active (EPRT)
  lftp -u demo,demo -p 2121 127.0.0.1

What $config configures, as ftplb check-config reads it:
$("$ftplb" check-config "$config" | grep -E '^  (algorithm|server|health check|limits):' || true)

Watch it from another shell, through the admin API on 127.0.0.1:9021:

  $ftplb show pools      # servers, health, sessions, weights
  $ftplb show sessions   # one line per control session
  $ftplb show flows      # data connections moving now
  $ftplb trace --client 127.0.0.1   # every command and reply of your sessions

Press Ctrl-C to stop.
MSG
wait "${pids[-1]}"
