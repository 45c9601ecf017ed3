"""Hardware tier: the test firmware (fake model) on a real board.

Runs only when a board is attached and named:
    EDGEQ_BOARD=nucleo-f446re EDGEQ_BOARD_PORT=/dev/ttyACM0 pytest -m hardware
(EDGEQ_NO_FLASH=1 skips flashing when the firmware is already on the board.)"""

from __future__ import annotations

import os

import numpy as np
import pytest

from fake_device import fake_model

pytestmark = pytest.mark.hardware

BOARD = os.environ.get("EDGEQ_BOARD")
PORT = os.environ.get("EDGEQ_BOARD_PORT")


@pytest.mark.skipif(not (BOARD and PORT), reason="no board attached (set EDGEQ_BOARD and EDGEQ_BOARD_PORT)")
def test_fake_model_on_real_board(tmp_path):
    from edgeq.boards import get_board
    from edgeq.build import build_firmware
    from edgeq.device import protocol as P
    from edgeq.device.runner import run_dataset
    from edgeq.device.session import device_session

    board = get_board(BOARD)
    fw = build_firmware(board, tmp_path / "build")
    x = np.random.default_rng(0).integers(-128, 128, (20, 1, 16)).astype(np.int8)
    with device_session(board, fw.elf, port=PORT, flash=not os.environ.get("EDGEQ_NO_FLASH")) as dev:
        info = dev.client.info()
        assert info.board == board.name and info.model_name == "fake"
        recs = run_dataset(dev.client, x, tmp_path / "r.jsonl")
    assert [r.outputs for r in recs] == [fake_model(s.tobytes()) for s in x]
    if info.timer_kind == P.TIMER_DWT:
        assert all(r.cycles and r.cycles > 1000 for r in recs)
