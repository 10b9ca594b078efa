"""Preparing dom0 over SSH as root, as os-xenapi's DevStack plugin would, but once
and idempotently from the lab machine: plugins, DOMZERO key, firewall, directories.

SSH is OpenSSH with the password handed over by SSH_ASKPASS from the environment
(never argv). Everything dom0 needs travels in one connection: a small POSIX sh
script plus the plugins as a base64 tarball (public code, no secret), so nothing
is left behind in dom0 when it fails. The script reports each step as `ok:` or
`changed:`, which is how a second wire knows it changed nothing.

A test dom0 may set XENLAB_DOM0_ROOT in the SSH session's environment (its sshd's
SetEnv) to keep dom0's paths under a directory; a real dom0 does not set it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..core import proc
from ..core.files import ensure_dir, write_file
from ..core.shell import quote
from ..errors import AuthError, HostError, ToolError

CHAIN = "XenServerDevstack"  # os-xenapi's chain name, so its own cleanup finds ours
PORTS = (("tcp", 6640, "ovsdb"), ("udp", 4789, "VXLAN"))
ENV_PASSWORD = "XENLAB_SSH_PASSWORD"

# Where XAPI looks for plugins, by build; the first that exists wins (os-xenapi
# devstack/dom0_functions, dom0_plugin_location).
PLUGIN_DIRS = ("/etc/xapi.d/plugins", "/usr/lib/xcp/plugins", "/usr/lib/xapi/plugins", "/usr/lib64/xapi/plugins")

PREPARE = r"""
set -eu
R="${XENLAB_DOM0_ROOT:-}"
PD=""
for d in @PLUGIN_DIRS@; do
  if [ -d "$R$d" ]; then PD="$R$d"; break; fi
done
if [ -z "$PD" ]; then echo "error: no XAPI plugin directory in dom0 (/etc/xapi.d/plugins and others)"; exit 10; fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
printf '%s' "$XENLAB_PLUGINS" | base64 -d | tar -xzf - -C "$T"
n=0
for f in "$T"/*; do
  b=${f##*/}
  if ! cmp -s "$f" "$PD/$b"; then cp "$f" "$PD/.$b.xenlab" && mv -f "$PD/.$b.xenlab" "$PD/$b"; n=$((n+1)); fi
  if [ ! -x "$PD/$b" ]; then chmod 755 "$PD/$b"; n=$((n+1)); fi
done
if [ "$n" -gt 0 ]; then echo "changed: plugins: $n update(s) in $PD"; else echo "ok: plugins: current in $PD"; fi
AK="$R/root/.ssh/authorized_keys"
mkdir -p "$R/root/.ssh" && chmod 700 "$R/root/.ssh"
if [ -f "$AK" ] && grep -qxF "$XENLAB_PUBKEY" "$AK"; then echo "ok: DOMZERO key: authorised"
else printf '%s\n' "$XENLAB_PUBKEY" >> "$AK"; chmod 600 "$AK"; echo "changed: DOMZERO key: authorised for root"; fi
fw=0
iptables -t filter -L "$CHAIN" -n >/dev/null 2>&1 || { iptables -t filter -N "$CHAIN"; fw=1; }
iptables -t filter -C INPUT -j "$CHAIN" 2>/dev/null || { iptables -t filter -I INPUT -j "$CHAIN"; fw=1; }
iptables -t filter -C "$CHAIN" -p tcp -m tcp --dport 6640 -j ACCEPT 2>/dev/null || { iptables -t filter -I "$CHAIN" -p tcp -m tcp --dport 6640 -j ACCEPT; fw=1; }
iptables -t filter -C "$CHAIN" -p udp -m udp --dport 4789 -j ACCEPT 2>/dev/null || { iptables -t filter -I "$CHAIN" -p udp -m udp --dport 4789 -j ACCEPT; fw=1; }
if [ "$fw" = 1 ]; then
  # Keep the rules across reboots where the host saves iptables (XenServer's dom0).
  if [ -z "$R" ] && [ -f /etc/sysconfig/iptables ] && command -v service >/dev/null 2>&1; then service iptables save >/dev/null 2>&1 || true; fi
  echo "changed: firewall: TCP 6640 and UDP 4789 open (chain $CHAIN)"
else echo "ok: firewall: TCP 6640 and UDP 4789 open"; fi
for spec in /images:os-images /boot/guest:os-guest-kernels; do
  p=${spec%%:*}; sub=${spec#*:}
  if [ -d "$R$p" ]; then echo "ok: directory: $p"; continue; fi
  SRP="/var/run/sr-mount/$XENLAB_SR"
  if [ -n "$XENLAB_SR" ] && [ -d "$R$SRP" ]; then
    mkdir -p "$R$SRP/$sub" "$(dirname "$R$p")" && ln -sfn "$R$SRP/$sub" "$R$p"
    echo "changed: directory: $p -> $SRP/$sub (in the default SR)"
  else mkdir -p "$R$p"; echo "changed: directory: $p (no local SR mount to link into)"; fi
done
"""

# conntrack-tools, before os-xenapi's DevStack plugin wants it: its
# install_conntrack_tools (os-xenapi 0.3.4 devstack/dom0_functions, run in dom0 under
# set -eux) yum-installs from dom0's CentOS-Base.repo only when /usr/sbin/conntrackd is
# missing, then runs `service conntrackd restart`. On XCP-ng 8.2.1's ISO that repo file
# points at mirrorlist/mirror.centos.org, which no longer serve CentOS 7, so stack.sh
# stops there. Here: the same condition (XenServer 7.0 and later), the packages from
# CentOS 7's final tree on vault.centos.org at pinned versions, checked by yum against
# the CentOS 7 key dom0 ships; then the statistics-mode configuration the plugin puts
# in place after its own install, and its restart, which must work now.
CENTOS_VAULT = "https://vault.centos.org/7.9.2009/os/x86_64/"
CENTOS_KEY = "/etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7"
CONNTRACK_RPMS = ("conntrack-tools-1.4.4-7.el7", "libnetfilter_cthelper-1.0.0-11.el7",
                  "libnetfilter_cttimeout-1.0.0-7.el7", "libnetfilter_queue-1.0.2-2.el7_2")
CONNTRACK = r"""
if command -v xe >/dev/null 2>&1 && command -v yum >/dev/null 2>&1; then
  XH=$(xe host-list --minimal)
  XV=$(xe host-param-get uuid="$XH" param-name=software-version param-key=product_version_text_short | cut -d. -f1)
  case "$XV" in ''|*[!0-9]*) echo "error: dom0's product_version_text_short is not a version ($XV)"; exit 11;; esac
  if [ "$XV" -gt 6 ]; then
    CC=0
    if [ ! -f "$R/usr/sbin/conntrackd" ]; then
      YC=$(mktemp)
      printf '[main]
cachedir=/var/cache/yum/xenlab-centos-vault
keepcache=0
reposdir=/var/empty/xenlab-no-repos
plugins=0
gpgcheck=1

[xenlab-centos-vault]
name=CentOS 7.9.2009 os, vault.centos.org (conntrack-tools for os-xenapi)
baseurl=%s
enabled=1
gpgcheck=1
gpgkey=file://%s
'         "@VAULT@" "@KEY@" > "$YC"
      if ! yum -c "$YC" -y -q install @RPMS@ >/dev/null 2>&1; then
        rm -f "$YC"; echo "error: yum could not install conntrack-tools from @VAULT@ (os-xenapi's DevStack plugin needs it)"; exit 11
      fi
      rm -f "$YC"; CC=1
    fi
    S=$(find "$R/usr/share/doc" -name conntrackd.conf 2>/dev/null | grep stats | head -n 1)
    if [ -z "$S" ]; then echo "error: conntrack-tools has no statistics-mode conntrackd.conf in /usr/share/doc"; exit 11; fi
    C="$R/etc/conntrackd/conntrackd.conf"
    if ! cmp -s "$S" "$C"; then
      if [ -f "$C" ]; then mv -f "$C" "$C.back"; fi
      mkdir -p "$R/etc/conntrackd" && cp "$S" "$C"; CC=1
    fi
    service conntrackd restart >/dev/null 2>&1 || { echo "error: 'service conntrackd restart' fails in dom0 (os-xenapi's DevStack plugin runs it)"; exit 11; }
    if [ "$CC" = 1 ]; then echo "changed: conntrack-tools: installed from @VAULT@, statistics-mode conntrackd running"
    else echo "ok: conntrack-tools: installed, statistics-mode conntrackd running"; fi
  else echo "ok: conntrack-tools: not wanted below XenServer 7.0"; fi
else echo "ok: conntrack-tools: no yum and xe here (not a CentOS-based dom0): nothing to install"; fi
"""
CONNTRACK = (CONNTRACK.replace("@VAULT@", CENTOS_VAULT).replace("@KEY@", CENTOS_KEY)
             .replace("@RPMS@", " ".join(CONNTRACK_RPMS)))
PREPARE = PREPARE.replace("@PLUGIN_DIRS@", " ".join(PLUGIN_DIRS)) + CONNTRACK
# yum fetches CentOS 7's repository metadata on its first run: more than SSH's own bound.
YUM_BUDGET_S = 600


@dataclass(frozen=True)
class Report:
    changed: list[str]
    unchanged: list[str]


# ------------------------------------------------------------------ the payload


def payload(files: dict[str, bytes]) -> str:
    """A reproducible tar.gz of the plugins (mode 0755), base64: shell-safe text."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o755, 0
            tar.addfile(info, io.BytesIO(files[name]))
    return base64.b64encode(buf.getvalue()).decode()


# ------------------------------------------------------------------ keys


def key_pair(paths, comment: str, log: Path | None = None) -> Path:
    """The DOMZERO key pair (ed25519), generated once; returns the public key path."""
    private, public = paths.domzero_key, paths.domzero_pub
    if private.is_file() and public.is_file():
        return public
    ensure_dir(paths.ssh_dir, private=True)
    with tempfile.TemporaryDirectory(dir=paths.ssh_dir) as tmp:
        key = Path(tmp) / "domzero"
        proc.run([proc.require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key],
                 log=log, timeout=30, quiet=True)
        os.replace(key.with_suffix(".pub"), public)
        os.replace(key, private)
    return public


# ------------------------------------------------------------------ ssh


def askpass(paths) -> Path:
    """A script that prints the password from the environment (never stored)."""
    write_file(paths.askpass, f'#!/bin/sh\nprintf \'%s\\n\' "${ENV_PASSWORD}"\n', secret=True, mode=0o700)
    return paths.askpass


def askpass_env(paths, password: str) -> dict[str, str]:
    """What OpenSSH needs to take root's password from `askpass` (never from argv)."""
    return {"SSH_ASKPASS": str(askpass(paths)), "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": os.environ.get("DISPLAY", ":0"), ENV_PASSWORD: password}


def ssh_command(host: str, port: int, known_hosts: Path, timeout: int, attempts: int,
                options: Sequence[str] = ()) -> list[str]:
    """`options`: how to reach dom0 from here (a ProxyCommand through a remote libvirt host)."""
    return [
        proc.require("ssh"), "-F", "/dev/null", "-p", str(port), *options,
        "-o", "BatchMode=no", "-o", "PubkeyAuthentication=no",
        "-o", "PreferredAuthentications=password,keyboard-interactive",
        "-o", "NumberOfPasswordPrompts=1",
        # First contact records the host key; a changed key later is refused.
        "-o", "StrictHostKeyChecking=accept-new",
        "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", f"ConnectTimeout={timeout}", "-o", f"ConnectionAttempts={attempts}",
        "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
        "-o", "LogLevel=ERROR", "-T", f"root@{host}",
    ]


def prepare(host: str, port: int, password: str, paths, files: dict[str, bytes],
            public_key: str, sr_uuid: str, timeout: int = 10, attempts: int = 3,
            log: Path | None = None, ssh_options: Sequence[str] = ()) -> Report:
    """Run the preparation in dom0; returns what changed and what was already so."""
    remote = " ".join([
        f"XENLAB_PLUGINS={payload(files)}",
        f"XENLAB_PUBKEY={quote(public_key.strip())}",
        f"XENLAB_SR={quote(sr_uuid)}",
        f"CHAIN={CHAIN}",
        "sh", "-c", quote(PREPARE),
    ])
    cmd = ssh_command(host, port, paths.known_hosts, timeout, attempts, ssh_options) + [remote]
    # The remote command is long (the tarball): log what it does, not its bytes.
    digest = hashlib.sha256(remote.encode()).hexdigest()[:12]
    try:
        out = proc.run(cmd, env=askpass_env(paths, password), timeout=timeout * attempts + 120 + YUM_BUDGET_S,
                       log=log,
                       quiet=True, what="ssh", log_as=f"ssh root@{host} -p {port} <dom0 preparation {digest}>")
    except ToolError as exc:
        raise _classify(exc, host) from None
    changed = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("changed: ")]
    unchanged = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("ok: ")]
    return Report(changed, unchanged)


def _classify(exc: ToolError, host: str) -> Exception:
    text = exc.message
    if "Permission denied" in text:
        return AuthError(f"dom0 SSH at {host} refused root's password")
    for sign in ("Connection refused", "timed out", "No route", "Could not resolve", "Connection closed",
                 "Network is unreachable", "took longer"):
        if sign in text:
            return HostError(f"dom0 SSH at {host}: {text.split(': ', 1)[-1]}")
    if "error: " in text:
        return HostError(f"dom0 at {host}: {text.split('error: ', 1)[1]}")
    return exc

