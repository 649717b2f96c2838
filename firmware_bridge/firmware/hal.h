/* Hardware abstraction: what the firmware core needs from a board. Implemented by hal_host.c (SITL) and
 * hal_stm32f4.c (Cortex-M4). The core never calls the clock itself: the main loop passes `now` in ms. */
#ifndef FW_HAL_H
#define FW_HAL_H
#include <stdint.h>
#include <stddef.h>

typedef struct {
    int32_t x_mm, y_mm;
    int16_t yaw_mrad; /* wrapped to [-3142, 3142] */
    int16_t v_mms, w_mrads;
} fw_odom_t;

typedef enum { FW_EV_CMD = 1, FW_EV_WATCHDOG = 2, FW_EV_ESTOP = 3, FW_EV_REJECT = 4, FW_EV_SESSION = 5 } fw_event_t;

uint32_t hal_millis(void);
/* Wheel duty in permille, -1000..1000 (left, right). 0, 0 stops the motors. */
void hal_motors(int16_t left, int16_t right);
void hal_odometry(fw_odom_t *out);
uint16_t hal_battery_mv(void);
/* Send bytes to the host (one whole encoded frame including its 0x00 delimiter). */
void hal_write(const uint8_t *data, size_t n);
/* A fresh session nonce (32 bits, unpredictable, and unlike the nonces of earlier boots): the SITL reads
 * /dev/urandom, the STM32F411 (no RNG peripheral) hashes a boot counter in backup RAM, its unique ID and ADC noise. */
uint32_t hal_session_nonce(void);
/* Diagnostic hook (no-op on the MCU): event, time, seq, two values. */
void hal_event(fw_event_t ev, uint32_t now, uint32_t seq, int32_t a, int32_t b);
#endif
