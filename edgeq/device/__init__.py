"""Talking to a board: flashers (QEMU, openocd, pyocd, ...), the serial protocol client, the
dataset runner. See protocol.py (wire format), client.py, flashers.py, runner.py."""
