"""Making the lab's Vagrant boxes: Packer, the installer's ISO and answerfile,
the stand-in's base image, box files and their registration with Vagrant."""
