# Every value a build needs, and only those. xenlab sets them in a rendered
# .xenlab/<lab>/packer.pkrvars.json (from the flavour file and the config), per build
# paths as -var, and the one secret through PKR_VAR_root_password. Packer never reads
# a flavour file itself: most of a flavour is xenlab's data (xenlab/core/flavours.py).

# ---- flavour data (xenlab passes each from the flavour file: xenlab/images/packer.py)
variable "flavour" {
  type        = string
  description = "Flavour name: the box is xenlab/<flavour>."
}

variable "kind" {
  type        = string
  description = "xenserver (installed from an ISO) or standin (Debian base image + XenAPI simulator)."
}

variable "iso_url" {
  type        = string
  description = "Installer ISO: a URL or a local path (xenlab passes iso.url / iso.path when set)."
}

variable "iso_checksum" {
  type        = string
  description = "sha256:<hex>, or file:<url of the vendor's checksum file>."
}

variable "boot_wait" {
  type        = string
  description = "Before typing: the ISO's isolinux boots its own default after the flavour's autoboot_timeout_s."
}

variable "boot_command" {
  type        = list(string)
  description = "Typed at the installer's boot: prompt; Packer fills {{ .HTTPIP }} and {{ .HTTPPort }}."
}

variable "install_timeout" {
  type        = string
  description = "How long to wait for SSH into the installed host (the install runs before it)."
}

variable "disk_bus" {
  type        = string
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

# ---- the secret: only ever from the environment (PKR_VAR_root_password)
variable "root_password" {
  type        = string
  sensitive   = true
  description = "Root password of the host (= XenAPI password). Never on a command line."
}
