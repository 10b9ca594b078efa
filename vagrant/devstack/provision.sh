#!/usr/bin/env bash
# Provision the devstack machine: the DevStack user, DevStack at its pinned tag,
# the local.conf and DOMZERO key that `xenlab wire` rendered, then an unattended
# stack.sh. On the stand-in flavour DevStack's git hosts are out of reach, so
# everything but cloning DevStack and running stack.sh is done, and said so.
set -euo pipefail

: "${XENLAB_STAGING:?}" "${XENLAB_USER:?}" "${XENLAB_DEVSTACK_REPO:?}" "${XENLAB_DEVSTACK_TAG:?}"
: "${XENLAB_STANDIN:?}" "${XENLAB_XENSERVER_IP:?}"

STACK_HOME=/opt/stack
DEVSTACK_DIR=$STACK_HOME/devstack
FILES=$XENLAB_STAGING/devstack
KEYS=$XENLAB_STAGING/ssh
STACK_TIMEOUT=${XENLAB_STACK_TIMEOUT:-7200}

say() { printf 'xenlab: %s\n' "$*"; }
die() { printf 'xenlab: %s\n' "$*" >&2; exit 1; }
as_stack() { sudo -u "$XENLAB_USER" -H "$@"; }

create_user() {
  # As DevStack's tools/create-stack-user.sh does it.
  if ! id "$XENLAB_USER" >/dev/null 2>&1; then
    useradd -U -s /bin/bash -d "$STACK_HOME" -m "$XENLAB_USER"
  fi
  chmod 755 "$STACK_HOME"
  printf '%s ALL=(root) NOPASSWD:ALL\n' "$XENLAB_USER" > /etc/sudoers.d/50_stack_sh
  chmod 0440 /etc/sudoers.d/50_stack_sh
}

install_domzero_key() {
  if [ ! -f "$KEYS/domzero" ]; then
    say "no DOMZERO key rendered (run \`invoke wire\`, then \`vagrant provision devstack\`)"
    return 1
  fi
  local ssh_dir=$STACK_HOME/.ssh
  install -d -m 0700 -o "$XENLAB_USER" -g "$XENLAB_USER" "$ssh_dir"
  install -m 0600 -o "$XENLAB_USER" -g "$XENLAB_USER" "$KEYS/domzero" "$ssh_dir/domzero"
  if [ -f "$KEYS/domzero.pub" ]; then
    install -m 0644 -o "$XENLAB_USER" -g "$XENLAB_USER" "$KEYS/domzero.pub" "$ssh_dir/domzero.pub"
  fi
  cat > "$ssh_dir/config" <<CONF
Host $XENLAB_XENSERVER_IP
    User root
    IdentityFile ~/.ssh/domzero
    IdentitiesOnly yes
    StrictHostKeyChecking accept-new
CONF
  chown "$XENLAB_USER:$XENLAB_USER" "$ssh_dir/config"
  chmod 0600 "$ssh_dir/config"
  say "DOMZERO key installed for $XENLAB_USER (ssh root@$XENLAB_XENSERVER_IP)"
}

clone_devstack() {
  if [ -d "$DEVSTACK_DIR/.git" ]; then
    say "DevStack already cloned in $DEVSTACK_DIR"
    return
  fi
  command -v git >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq git; }
  as_stack git clone --depth 1 --branch "$XENLAB_DEVSTACK_TAG" "$XENLAB_DEVSTACK_REPO" "$DEVSTACK_DIR"
}

install_local_conf() {
  if [ ! -f "$FILES/local.conf" ]; then
    say "no local.conf rendered (run \`invoke wire\`, then \`vagrant provision devstack\`)"
    return 1
  fi
  install -d -m 0755 -o "$XENLAB_USER" -g "$XENLAB_USER" "$DEVSTACK_DIR"
  install -m 0600 -o "$XENLAB_USER" -g "$XENLAB_USER" "$FILES/local.conf" "$DEVSTACK_DIR/local.conf"
  say "local.conf installed as $DEVSTACK_DIR/local.conf"
}

install_nova_conf() {
  if [ ! -f "$FILES/nova.conf" ]; then
    say "no nova.conf rendered (run \`invoke wire\`, then \`vagrant provision devstack\`)"
    return 1
  fi
  install -d -m 0755 /etc/nova
  install -m 0640 -o root -g "$XENLAB_USER" "$FILES/nova.conf" /etc/nova/nova.conf
  say "nova.conf installed as /etc/nova/nova.conf (what stack.sh would have written for the xenserver driver)"
}

fetch_images() {
  # os-xenapi's plugin sets IMAGE_URLS after local.conf is read, and DevStack fetches
  # only what files/ lacks (devstack functions upload_image): fetch them now, so a
  # download host that is gone stops provisioning here, not an hour into stack.sh.
  local url name files=$DEVSTACK_DIR/files
  as_stack mkdir -p "$files"
  for url in ${XENLAB_IMAGE_URLS:-}; do
    name=${url##*/}
    if [ -s "$files/$name" ]; then
      say "image $name already in $files"
      continue
    fi
    if ! as_stack curl -fsSL --retry 3 --connect-timeout 20 --max-time 1800 -o "$files/$name.part" "$url"; then
      as_stack rm -f "$files/$name.part"
      die "cannot download $url (os-xenapi's DevStack plugin uploads it): put the file at $files/$name and provision again"
    fi
    as_stack mv "$files/$name.part" "$files/$name"
    say "image $name from $url, sha256 $(sha256sum "$files/$name" | cut -d' ' -f1)"
  done
}

# Installs a systemd unit and enables it: 0 when it changed, 1 when it was already so.
install_unit() {
  local name=$1 text=$2 path=/etc/systemd/system/$1
  if [ -f "$path" ] && [ "$(cat "$path")" = "$text" ]; then
    return 1
  fi
  printf '%s\n' "$text" > "$path"
  systemctl daemon-reload
  systemctl enable "$name" >/dev/null 2>&1
}

mount_probe_disk() {
  # Nova's probe and Glance run from an install tree on a disk of their own, found
  # by its label; the lab's VHD image is on it too.
  local dev=/dev/disk/by-label/$XENLAB_PROBE_LABEL tries=0
  until [ -e "$dev" ]; do
    tries=$((tries + 1))
    [ "$tries" -ge 30 ] && die "no disk labelled $XENLAB_PROBE_LABEL (Nova's probe) in this machine"
    sleep 1
  done
  install -d -m 0755 "$XENLAB_PROBE_MOUNT"
  grep -q " $XENLAB_PROBE_MOUNT " /etc/fstab ||
    printf 'LABEL=%s %s ext4 ro,noload,nofail 0 0\n' "$XENLAB_PROBE_LABEL" "$XENLAB_PROBE_MOUNT" >> /etc/fstab
  mountpoint -q "$XENLAB_PROBE_MOUNT" || mount "$XENLAB_PROBE_MOUNT"
}

start_nova_probe() {
  # Nova's compute probe, standing for nova-compute where stack.sh cannot run: its
  # service answers on a socket.
  install_unit xenlab-nova-probe.service "$(cat <<UNIT
[Unit]
Description=xenlab: Nova's XenAPI driver, standing for nova-compute (stand-in lab)
After=network-online.target
Wants=network-online.target

[Service]
Environment=$XENLAB_PROBE_ENV
ExecStart=$XENLAB_PROBE_SERVICE
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
)" || true
  # Restarted on every provisioning: it reads nova.conf once, when it starts.
  systemctl restart xenlab-nova-probe.service
  say "Nova's compute probe runs as xenlab-nova-probe.service (tree from the $XENLAB_PROBE_LABEL disk)"
}

start_glance() {
  # Glance where DevStack's g-api would be, as DevStack runs it (as the stack user, the
  # database synced first: lib/glance init_glance, start_glance), on the private address.
  local digest
  digest=$(sha256sum "$XENLAB_GLANCE_SCRIPT" | cut -d' ' -f1)
  install -d -m 0755 -o "$XENLAB_USER" -g "$XENLAB_USER" "$(dirname "$XENLAB_GLANCE_STATE")" "$XENLAB_GLANCE_STATE"
  # Restarted only when the unit or its script changed: its database and images persist.
  if install_unit "$XENLAB_GLANCE_UNIT" "$(cat <<UNIT
# script sha256 $digest
[Unit]
Description=xenlab: Glance API, standing for DevStack's g-api (stand-in lab)
After=network-online.target
Wants=network-online.target
RequiresMountsFor=$XENLAB_PROBE_MOUNT

[Service]
User=$XENLAB_USER
Environment=$XENLAB_GLANCE_ENV
ExecStartPre=$XENLAB_GLANCE_DB_SYNC
ExecStart=$XENLAB_GLANCE_API
Restart=on-failure
RestartSec=5
# The database sync alone takes a good minute under software emulation.
TimeoutStartSec=900

[Install]
WantedBy=multi-user.target
UNIT
)"; then
    systemctl restart "$XENLAB_GLANCE_UNIT"
  else
    systemctl start "$XENLAB_GLANCE_UNIT"
  fi
  say "Glance runs as $XENLAB_GLANCE_UNIT (tree from the $XENLAB_PROBE_LABEL disk, state in $XENLAB_GLANCE_STATE)"
}

upload_image() {
  # DevStack's upload_image for the lab's own VHD, once (the command is shell-quoted
  # by xenlab's lab spec; it waits, bounded, for Glance to answer).
  eval "env -i $XENLAB_GLANCE_ENV $XENLAB_GLANCE_UPLOAD" ||
    die "the lab's image did not go into Glance: \`systemctl status $XENLAB_GLANCE_UNIT\` and \`journalctl -u $XENLAB_GLANCE_UNIT\` on this machine"
}

run_stack() {
  local stamp=$STACK_HOME/.xenlab-stacked digest
  digest=$(sha256sum "$DEVSTACK_DIR/local.conf" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$digest" ]; then
    say "stack.sh already ran with this local.conf"
    return
  fi
  say "running stack.sh as $XENLAB_USER (unattended; up to ${STACK_TIMEOUT} s; log in $STACK_HOME/logs)"
  as_stack bash -c "cd '$DEVSTACK_DIR' && timeout '$STACK_TIMEOUT' ./stack.sh" </dev/null
  echo "$digest" > "$stamp"
}

create_user
if [ "$XENLAB_STANDIN" = yes ]; then
  say "stand-in flavour: DevStack is NOT cloned and stack.sh is NOT run on this machine" \
      "(DevStack's git hosts are out of reach); everything else is provisioned"
  install -d -m 0755 -o "$XENLAB_USER" -g "$XENLAB_USER" "$DEVSTACK_DIR"
  install_domzero_key || true
  install_local_conf || true
  install_nova_conf || true
  printf '%s\n' "Stand-in lab: this is not a DevStack checkout; local.conf was rendered by xenlab wire." \
    > "$DEVSTACK_DIR/XENLAB-STAND-IN"
  if [ -n "${XENLAB_PROBE_LABEL:-}" ]; then
    mount_probe_disk
    if [ -n "${XENLAB_GLANCE_API:-}" ]; then start_glance; fi
    start_nova_probe
    if [ -n "${XENLAB_GLANCE_API:-}" ]; then upload_image; fi
  fi
else
  install_domzero_key || die "cannot provision DevStack without the DOMZERO key"
  clone_devstack
  install_local_conf || die "cannot run stack.sh without local.conf"
  fetch_images
  run_stack
fi
