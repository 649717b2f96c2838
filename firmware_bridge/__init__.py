"""Bridge to real robots: wire protocol v1 (COBS, CRC-16, HMAC, replay window), serial/UDP transports,
the real-robot Fleet backend, MAVLink via pymavlink, and a C reference firmware (SITL and STM32F4)."""
