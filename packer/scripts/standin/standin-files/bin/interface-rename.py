#!/bin/sh
# Stand-in for dom0's interface-rename.py, where the interface-rename package puts it
# (/etc/sysconfig/network-scripts/, xcp-ng-rpms/interface-rename SPECS/interface-rename.spec).
# The stand-in's NICs keep the kernel's names, so there are no rename rules to reset:
# this records each call, as the stand-in's other dom0 tools do, and takes only the
# option dom0's callers pass (xen-api ocaml/networkd/bin/network_server.ml reset_state,
# python3/bin/xe-reset-networking). A shell script: dom0 here has no python3.
log=/var/log/xenlab-standin/interface-rename-calls.log
mkdir -p "${log%/*}"
printf '%s interface-rename.py %s\n' "$(date -u +%FT%TZ)" "$*" >> "$log"
if [ "$*" != --reset-to-install ]; then
  echo "interface-rename.py: the xenlab stand-in knows only --reset-to-install (got: $*)" >&2
  exit 2
fi
echo "xenlab stand-in: interface-rename rules reset to install (nothing to reset: NICs keep the kernel's names)"
