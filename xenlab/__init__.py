"""xenlab: disposable XenServer/XCP-ng + DevStack development labs."""

__version__ = "0.1.0"
