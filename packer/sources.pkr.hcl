# One source per builder, named for the machine it makes (as Chef Bento names them).
# The XenServer/XCP-ng shape is what XCP-ng's docs give for nested KVM: BIOS boot, an
# e1000 NIC and an IDE disk, on the bus the lab attaches it on too (the installed
# initrd holds only the install's storage driver), hardware virtualisation passed
# through so that Xen can run guests.

source "qemu" "xenserver" {
  iso_url      = var.iso_url
  iso_checksum = var.iso_checksum

  accelerator  = var.accelerator
  machine_type = "pc" # i440FX + SeaBIOS: BIOS, not UEFI
  cpus         = var.cpus
  memory       = var.memory_mb
  # The disk's serial, set as the lab sets it (Vagrantfile): the installer records the SR
  # partition by its /dev/disk/by-id name (xenserver/host-installer backend.py
  # prepareStorageRepositories), which carries an ATA disk's serial, and every copy's
  # storage-init stops if that name is missing (xapi-project/sm scripts/storage-init
  # diskprep, exit 2). Unset, QEMU numbers it by IDE slot (qemu hw/ide/core.c ide_init1,
  # "QM%05d"). -global reaches the disk however the builder attaches it.
  qemuargs = concat([["-cpu", var.cpu_model]],
  var.disk_serial == "" ? [] : [["-global", "ide-hd.serial=${var.disk_serial}"]])

  disk_size          = "${var.disk_gb * 1024}M"
  format             = "qcow2"
  disk_interface     = var.disk_bus
  disk_discard       = "unmap"
  disk_detect_zeroes = "unmap"
  disk_compression   = true
  net_device         = "e1000"

  headless       = var.headless
  http_directory = var.http_directory
  boot_wait      = var.boot_wait
  boot_command   = var.boot_command

  # The installer reboots into the new host; Packer logs into that first boot.
  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.root_password
  ssh_timeout      = var.install_timeout
  shutdown_command = "/sbin/shutdown -h now"

  output_directory = var.output_directory
  vm_name          = "${var.flavour}.qcow2"
}

source "virtualbox-iso" "xenserver" {
  iso_url      = var.iso_url
  iso_checksum = var.iso_checksum

  guest_os_type        = var.guest_os_type
  cpus                 = var.cpus
  memory               = var.memory_mb
  disk_size            = var.disk_gb * 1024
  hard_drive_interface = var.disk_bus
  guest_additions_mode = "disable"
  # Packer 1.6 has no firmware/nic_type/nested_virt options: set them directly.
  vboxmanage = [
    ["modifyvm", "{{ .Name }}", "--firmware", "bios"],
    ["modifyvm", "{{ .Name }}", "--nic1", "nat", "--nictype1", "82540EM"],
    ["modifyvm", "{{ .Name }}", "--nested-hw-virt", "on"],
    # The empty disk does not boot, so the ISO does; after the install the disk does.
    ["modifyvm", "{{ .Name }}", "--boot1", "disk", "--boot2", "dvd"],
  ]

  headless       = var.headless
  http_directory = var.http_directory
  boot_wait      = var.boot_wait
  boot_command   = var.boot_command

  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.root_password
  ssh_timeout      = var.install_timeout
  shutdown_command = "/sbin/shutdown -h now"

  output_directory = var.output_directory
  vm_name          = var.flavour
}

# The stand-in: no installer, a ready Debian disk booted and provisioned.
source "qemu" "standin" {
  disk_image       = true
  iso_url          = var.base_image
  iso_checksum     = var.base_image_checksum
  skip_resize_disk = true
  disk_size        = "8192M"

  accelerator  = var.accelerator
  machine_type = "pc"
  cpus         = 1
  memory       = 1024
  format       = "qcow2"
  # User networking with restrict=on: the guest reaches nothing but Packer's SSH
  # forward, so the build needs no network namespace and the guest no uplink.
  qemuargs = [
    ["-netdev", "user,id=user.0,restrict=on,hostfwd=tcp::{{ .SSHHostPort }}-:22"],
    ["-device", "virtio-net,netdev=user.0"],
  ]
  disk_interface     = "virtio"
  disk_discard       = "unmap"
  disk_detect_zeroes = "unmap"
  disk_compression   = true

  headless             = true
  communicator         = "ssh"
  ssh_username         = "vagrant"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "20m"
  shutdown_command     = "sudo /sbin/shutdown -P now"

  output_directory = var.output_directory
  vm_name          = "${var.flavour}.qcow2"
}
