#!/bin/sh
# Runs inside the images' "assemble" stage: copies the given programs, every
# shared library they load (their ldd closure) and the few data files the
# daemon reads into /rootfs, so the final stage is FROM scratch: no shell
# (unless asked for), no package manager, no compiler.
#   assemble-rootfs.sh /usr/bin/fleetcommand [/usr/bin/kubectl /bin/sh …]
set -eu
R=/rootfs
mkdir -p "$R/etc" "$R/tmp" "$R/var/lib/fleetcommand" "$R/etc/fleetcommand"
chmod 1777 "$R/tmp"
copy() { mkdir -p "$R$(dirname "$1")" && cp -aL "$1" "$R$1"; }
for prog in "$@"; do
  copy "$prog"
  ldd "$prog" 2>/dev/null | awk '/=>/ { print $3 } /^\t\// { print $1 }' | while read -r lib; do
    [ -n "$lib" ] && [ -e "$lib" ] && copy "$lib"
  done
done
# The dynamic loader under its canonical name, the trust store, the Public
# Suffix List (certificate budgets), time zones, name service files.
copy /lib64/ld-linux-x86-64.so.2
cp -aL /etc/ssl "$R/etc/ssl"
mkdir -p "$R/usr/share" && cp -aL /usr/share/publicsuffix "$R/usr/share/publicsuffix"
cp -aL /usr/share/zoneinfo "$R/usr/share/zoneinfo"
printf 'hosts: files dns\n' > "$R/etc/nsswitch.conf"
# The one non-root user (numeric 10001, as Kubernetes' runAsNonRoot checks).
printf 'root:x:0:0:root:/root:/sbin/nologin\nfleetcommand:x:10001:10001::/var/lib/fleetcommand:/sbin/nologin\n' > "$R/etc/passwd"
printf 'root:x:0:\nfleetcommand:x:10001:\n' > "$R/etc/group"
chown -R 10001:10001 "$R/var/lib/fleetcommand"
