# Every value a build needs. Flavour data (packer/flavours/*.pkrvars.hcl) sets the
# installer ones; xenlab sets the rest from its config in a rendered
# .xenlab/<lab>/<flavour>.pkrvars.json, and the one secret through PKR_VAR_root_password.

# ---- flavour data
variable "flavour" {
  type        = string
  description = "Flavour name: the box is xenlab/<flavour>."
}

variable "kind" {
  type        = string
  default     = "xenserver"
  description = "xenserver (installed from an ISO) or standin (Debian base image + XenAPI simulator)."
}

variable "product" {
  type        = string
  default     = ""
  description = "Product and version as a human reads it, recorded in the box manifest."
}

variable "iso_url" {
  type        = string
  default     = ""
  description = "Installer ISO: a URL or a local path (xenlab passes iso.url / iso.path when set)."
}

variable "iso_checksum" {
  type        = string
  default     = "none"
  description = "sha256:<hex>, or file:<url of the vendor's checksum file>."
}

variable "boot_wait" {
  type        = string
  default     = "3s"
  description = "Before typing: the ISO's isolinux boots its own default after autoboot_timeout_s."
}

variable "boot_command" {
  type        = list(string)
  default     = []
  description = "Typed at the installer's boot: prompt; Packer fills {{ .HTTPIP }} and {{ .HTTPPort }}."
}

variable "install_timeout" {
  type        = string
  default     = "90m"
  description = "How long to wait for SSH into the installed host (the install runs before it)."
}

variable "network_backend" {
  type        = string
  default     = ""
  description = "Answerfile <network-backend> (bridge, openvswitch or vswitch); empty leaves the installer's default."
}

variable "disk_bus" {
  type        = string
  default     = "ide"
  description = "The disk bus of the install; the lab attaches the disk on the same (the installer's initrd is host-only)."
}

variable "disk_serial" {
  type        = string
  default     = ""
  description = "The IDE disk's serial, the same in the build and in the lab: the installer names the SR partition by it (/dev/disk/by-id). Empty: QEMU's own."
}

variable "guest_os_type" {
  type        = string
  default     = "RedHat_64"
  description = "VirtualBox OS type: dom0 is CentOS-based."
}

# ---- VM shape (xenlab config [xenserver])
variable "memory_mb" {
  type    = number
  default = 4096
}

variable "cpus" {
  type    = number
  default = 2
}

variable "disk_gb" {
  type        = number
  default     = 60
  description = "The installer's partition layout needs at least 60 GB; the qcow2 is thin."
}

variable "accelerator" {
  type        = string
  default     = "kvm"
  description = "kvm, or tcg where KVM cannot run a guest (slow; fine for the stand-in only)."
}

variable "cpu_model" {
  type        = string
  default     = "host"
  description = "QEMU -cpu: host passthrough so Xen sees VMX/SVM; xenlab uses max under TCG."
}

variable "headless" {
  type    = bool
  default = true
}

# ---- where things go (xenlab sets these per build, in a temporary directory)
variable "http_directory" {
  type        = string
  default     = "http"
  description = "Served to the installer: the rendered answerfile (mode 0600) lives here."
}

variable "output_directory" {
  type    = string
  default = "output"
}

variable "box_output" {
  type        = string
  default     = "box/xenlab.{{.Provider}}.box"
  description = "Where the vagrant post-processor writes the box."
}

# ---- stand-in only
variable "base_image" {
  type        = string
  default     = "base.qcow2"
  description = "The debootstrap-made Debian image the stand-in starts from."
}

variable "base_image_checksum" {
  type    = string
  default = "none"
}

variable "ssh_private_key_file" {
  type        = string
  default     = "~/.vagrant.d/insecure_private_key"
  description = "Vagrant's insecure key: the base image's vagrant user accepts it."
}

variable "sim_payload" {
  type        = string
  default     = "payload"
  description = "A directory holding xenlab/__init__.py and xenlab/sim/ (stdlib only) for the guest."
}

# ---- flavour data read by xenlab, not by the templates (declared so that Packer
# reads the flavour files without a warning; see xenlab/core/flavours.py)
variable "standin" {
  type    = bool
  default = false
}

variable "packer_build" {
  type    = string
  default = "xenserver"
}

variable "autoboot_timeout_s" {
  type    = number
  default = 0
}

variable "autoboot_source" {
  type    = string
  default = ""
}

variable "devstack_box" {
  type    = string
  default = "generic/ubuntu1804"
}

variable "companion_boxes" {
  type    = list(string)
  default = []
}

variable "needs_kvm" {
  type    = bool
  default = true
}

variable "needs_uplink" {
  type    = bool
  default = true
}

variable "disk_gb_needed" {
  type    = number
  default = 25
}

variable "build_timeout_s" {
  type    = number
  default = 14400
}

variable "up_timeout_s" {
  type    = number
  default = 14400
}

variable "nova_probe" {
  type    = bool
  default = false
}

variable "devstack_suites" {
  type    = list(string)
  default = ["test_devstack.py", "test_devstack_services.py"]
}

# ---- the secret: only ever from the environment (PKR_VAR_root_password)
variable "root_password" {
  type        = string
  sensitive   = true
  description = "Root password of the host (= XenAPI password). Never on a command line."
}
