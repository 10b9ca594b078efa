# Two builds: a XenServer/XCP-ng host from its installer ISO (either builder), and
# the stand-in from the Debian base image. Both end as a Vagrant box.

build {
  name    = "xenserver"
  sources = ["source.qemu.xenserver", "source.virtualbox-iso.xenserver"]

  # Runs in the installed host's first boot, as root.
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

  # A directory without trailing slash lands as /tmp/xenlab (Packer's file semantics).
  provisioner "file" {
    source      = "${var.sim_payload}/xenlab"
    destination = "/tmp"
  }

  # The password arrives in an uploaded env file (Packer deletes it after the
  # scripts run), not on the remote command line.
  provisioner "shell" {
    use_env_var_file = true
    environment_vars = [
      "XENLAB_ROOT_PASSWORD=${var.root_password}",
      "XENLAB_SIM_ARGS=${var.sim_args}",
    ]
    execute_command = "sudo sh -c '. {{ .EnvVarFile }} && sh -eu {{ .Path }}'"
    scripts = [
      "${path.root}/scripts/standin/root-ssh.sh",
      "${path.root}/scripts/standin/sim-service.sh",
      "${path.root}/scripts/standin/smoke-test.sh",
      "${path.root}/scripts/standin/forget-identity.sh",
    ]
    # No zero-free-space here: the base image's free space was never written, and
    # zeroing 7 GB under TCG costs minutes for nothing.
  }

  post-processor "vagrant" {
    output               = var.box_output
    vagrantfile_template = "${path.root}/box/Vagrantfile.${var.kind}"
    compression_level    = 6
  }
}
