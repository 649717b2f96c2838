/* Firmware core: frame parser state machine, verification, command handling, watchdog, limits, telemetry. */
#ifndef FW_CORE_H
#define FW_CORE_H
#include <stdint.h>
#include <stddef.h>
#include "fw_protocol.h"

typedef struct {
    uint32_t hi;   /* highest accepted sequence number */
    uint64_t bits; /* bit i set: hi - i was accepted */
    uint8_t any;
} fw_window_t;

typedef struct {
    uint32_t frames_ok, crc_fail, cobs_fail, len_fail, version_fail, flags_fail, robot_fail, auth_fail, replay_fail,
        type_fail, stale, overflow, rejected, actuations, estop_unverified, session_fail, sessions;
} fw_stats_t;

typedef enum { FW_RX_ACCUM = 0, FW_RX_DISCARD = 1 } fw_rx_state_t;

typedef struct {
    uint16_t robot_id;
    uint8_t key[FW_KEY_MAX];
    uint8_t key_len; /* 0: authentication off */
    uint32_t session; /* this session's nonce: in every frame's header, so every tag covers it */
    uint8_t rx[FW_MAX_ENCODED];
    uint16_t rx_len;
    fw_rx_state_t rx_state;
    fw_window_t win;
    uint32_t last_motion_seq;
    uint8_t have_motion_seq;
    uint32_t tx_seq; /* last sequence number sent in this session */
    uint8_t armed, estop, wd_tripped, motion_active;
    uint32_t last_motion_ms, last_rx_ms, last_tick_ms, next_telem_ms;
    float target_v, target_w, cur_v, cur_w;
    int16_t out_l, out_r;
    fw_stats_t st;
} fw_t;

/* Starts the first session with a nonce from hal_session_nonce(). */
void fw_init(fw_t *f, uint16_t robot_id, const uint8_t *key, size_t key_len, uint32_t now);
/* A new session: a fresh nonce, an empty replay window, sequence numbers from 1 again (both directions). */
void fw_new_session(fw_t *f, uint32_t now);
/* Feed received bytes to the parser (any split is fine). Returns the number of frames that passed verification. */
uint32_t fw_rx_bytes(fw_t *f, const uint8_t *data, size_t n, uint32_t now);
/* Run control: watchdog, acceleration limits, motor output, telemetry. Call at >= 200 Hz. */
void fw_tick(fw_t *f, uint32_t now);
uint16_t fw_status(const fw_t *f, uint32_t now);
#endif
