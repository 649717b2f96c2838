"""The reference firmware cross-compiles for a Cortex-M4 (STM32F411) with Debian's gcc-arm-none-eabi."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from fleetmind.testing.sitl import FIRMWARE_DIR

ARM_GCC = shutil.which("arm-none-eabi-gcc")


@pytest.mark.skipif(
    ARM_GCC is None,
    reason="arm-none-eabi-gcc not found: install Debian's gcc-arm-none-eabi (the root `make test` does so where "
    "apt-get is available and it runs as root)",
)
def test_stm32f4_port_builds_and_fits(tmp_path: Path) -> None:
    build = tmp_path / "arm"
    proc = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE_DIR), "arm", f"BUILD={build}"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    size_line = proc.stdout.strip().splitlines()[-1].split()
    text, data, bss = (int(x) for x in size_line[:3])
    print(
        f"\nSTM32F411 firmware: text {text} B, data {data} B, bss {bss} B (flash {text + data} B, RAM {data + bss} B)"
    )
    assert text + data < 32 * 1024 and data + bss < 4 * 1024
    binary = tmp_path / "fw.bin"
    subprocess.run(
        ["arm-none-eabi-objcopy", "-O", "binary", str(build / "fw_stm32f4.elf"), str(binary)], check=True, timeout=30
    )
    sp, reset = struct.unpack_from("<II", binary.read_bytes())
    assert sp == 0x2002_0000  # top of the 128 KiB SRAM
    assert reset & 1 and 0x0800_0000 < reset < 0x0800_0000 + text + data  # a Thumb address inside the image
    symbols = subprocess.run(
        ["arm-none-eabi-nm", str(build / "fw_stm32f4.elf")], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert " U " not in symbols  # fully linked, no C library
    for name in ("fw_rx_bytes", "fw_tick", "fw_hmac_sha256", "USART2_IRQHandler", "SysTick_Handler"):
        assert f" {name}\n" in symbols
