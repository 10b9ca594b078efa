# Two builds: a XenServer/XCP-ng host from its installer ISO (either builder), and
# the stand-in from the Debian base image. Both end as a Vagrant box.

build {
  name    = "xenserver"
  sources = ["source.qemu.xenserver", "source.virtualbox-iso.xenserver"]

  # What firstboot.sh installs into the box (lands as /tmp/box-files).
  provisioner "file" {
    source      = "${path.root}/scripts/xenserver/box-files"
    destination = "/tmp"
  }

  # Runs in the installed host's first boot, as root: the same scripts as the
  # stand-in's build below.
  provisioner "shell" {
    execute_command = "sh -eu '{{ .Path }}'"
    scripts = [
      "${path.root}/scripts/common/vagrant-user.sh",
      "${path.root}/scripts/xenserver/firstboot.sh",
      "${path.root}/scripts/xenserver/generalise.sh",
      "${path.root}/scripts/common/zero-free-space.sh",
    ]
  }

  post-processor "vagrant" {
    output               = var.box_output
    vagrantfile_template = "${path.root}/box/Vagrantfile.${var.kind}"
    compression_level    = 6
  }
}

build {
  name    = "standin"
  sources = ["source.qemu.standin"]

  # A directory without trailing slash lands as /tmp/<name> (Packer's file semantics):
  # the simulator's package, the stand-in's XAPI units, firstboot.sh's files.
  provisioner "file" {
    source      = "${var.sim_payload}/xenlab"
    destination = "/tmp"
  }
  provisioner "file" {
    source      = "${path.root}/scripts/standin/standin-files"
    destination = "/tmp"
  }
  provisioner "file" {
    source      = "${path.root}/scripts/xenserver/box-files"
    destination = "/tmp"
  }

  # What an installer leaves on a XenServer host, in stand-in form: root SSH, XAPI
  # (the simulator) and its daemons and first-boot units, xe, the inventory and the
  # first-boot data. The password arrives in an uploaded env file (Packer deletes it
  # after the scripts run), not on the remote command line.
  provisioner "shell" {
    use_env_var_file = true
    environment_vars = [
      "XENLAB_ROOT_PASSWORD=${var.root_password}",
    ]
    execute_command = "sudo sh -c '. {{ .EnvVarFile }} && sh -eu {{ .Path }}'"
    scripts = [
      "${path.root}/scripts/standin/root-ssh.sh",
      "${path.root}/scripts/standin/install-dom0.sh",
      "${path.root}/scripts/standin/smoke-test.sh",
    ]
  }

  # Then exactly what the real build runs in the installed host's first boot.
  # No zero-free-space here: the base image's free space was never written, and
  # zeroing 7 GB under TCG costs minutes for nothing.
  provisioner "shell" {
    execute_command = "sudo sh -eu '{{ .Path }}'"
    scripts = [
      "${path.root}/scripts/common/vagrant-user.sh",
      "${path.root}/scripts/xenserver/firstboot.sh",
      "${path.root}/scripts/xenserver/generalise.sh",
    ]
  }

  post-processor "vagrant" {
    output               = var.box_output
    vagrantfile_template = "${path.root}/box/Vagrantfile.${var.kind}"
    compression_level    = 6
  }
}
