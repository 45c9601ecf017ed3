"""Talking to a board: flashing, the serial test protocol, streaming a dataset.

Public entry points (each module's docstring has the details):

- ``session.device_session(board, elf, port=None)`` → context manager yielding a
  ``DeviceSession`` (``.client``, ``.icount_shift``, ``.qemu``): QEMU for virtual boards,
  flash + serial port for real ones; always cleans up.
- ``runner.run_dataset(client, samples, results_path, resume=..., icount_shift=..., progress=...)``
  → list of ``InferRecord``; one JSON line per result as it arrives; ``DeviceLost`` carries the
  records so far.
- ``client.DeviceClient`` (``wait_ready``, ``info``, ``infer``, ``ping``, ``bye``) with
  ``DeviceLost`` / ``DeviceProtocolError``.
- ``flashers.start_qemu`` / ``start_board`` (``QemuSession``), ``plan_flash`` / ``flash`` and
  the per-tool command builders.
- ``protocol``: the wire format (firmware/runtime/PROTOCOL.md), pure Python.
"""
