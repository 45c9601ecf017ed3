"""Running flash-and-test on boards of a labgrid farm (``--labgrid PLACE``).

- ``place.place_session``: acquire a labgrid place through the coordinator, flash it through
  its resources, talk to it over its NetworkSerialPort, release it on every exit path.
- ``board_server``: runs on the exporter host next to a board and flashes the ELF a client
  uploads with the board's own tool; for a virtual board it restarts QEMU with it (its UART on a
  fixed TCP port). Exported as an ``EdgeqFlasher`` resource.
"""
