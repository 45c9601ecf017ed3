"""Running flash-and-test on boards of a labgrid farm (``--labgrid PLACE``).

- ``place.place_session``: acquire a labgrid place through the coordinator, flash it through
  its resources, talk to it over its NetworkSerialPort, release it on every exit path.
- ``virtual_board``: a QEMU board that an exporter can offer like a real one (its UART on a
  fixed TCP port, flashed over a small TCP upload that restarts QEMU with the new image); what
  the tests export, and a way to try a farm without hardware.
"""
