#include "fw_core.h"

#include "cobs.h"
#include "crc16.h"
#include "hal.h"
#include "sha256.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static float clampf(float x, float lim) { return x > lim ? lim : (x < -lim ? -lim : x); }
static int16_t round_duty(float x) { return (int16_t)(x >= 0.0f ? x + 0.5f : x - 0.5f); }
static float approach(float cur, float target, float step) {
    if (target > cur + step) return cur + step;
    if (target < cur - step) return cur - step;
    return target;
}

void fw_init(fw_t *f, uint16_t robot_id, const uint8_t *key, size_t key_len, uint32_t now) {
    uint8_t *raw = (uint8_t *)f;
    for (size_t i = 0; i < sizeof(*f); i++) raw[i] = 0;
    f->robot_id = robot_id;
    if (key_len > FW_KEY_MAX) key_len = FW_KEY_MAX;
    for (size_t i = 0; i < key_len; i++) f->key[i] = key[i];
    f->key_len = (uint8_t)key_len;
    f->last_tick_ms = now;
    f->next_telem_ms = now;
    f->last_rx_ms = now - FW_HOST_LOST_MS - 1u;
    f->rx_state = FW_RX_ACCUM;
    f->session = hal_session_nonce();
    hal_motors(0, 0);
}

void fw_new_session(fw_t *f, uint32_t now) {
    uint32_t old = f->session;
    do f->session = hal_session_nonce(); while (f->session == old);
    f->win.any = 0; f->win.hi = 0; f->win.bits = 0;
    f->have_motion_seq = 0;
    f->last_motion_seq = 0;
    f->tx_seq = 0;
    f->st.sessions++;
    hal_event(FW_EV_SESSION, now, 0u, (int32_t)f->session, (int32_t)old);
}

uint16_t fw_status(const fw_t *f, uint32_t now) {
    uint16_t s = 0;
    if (f->armed) s |= FW_ST_ARMED;
    if (f->estop) s |= FW_ST_ESTOP;
    if (f->wd_tripped) s |= FW_ST_WATCHDOG;
    if (f->out_l != 0 || f->out_r != 0) s |= FW_ST_MOVING;
    if (f->key_len) s |= FW_ST_AUTH;
    if ((uint32_t)(now - f->last_rx_ms) > FW_HOST_LOST_MS) s |= FW_ST_HOST_LOST;
    if (hal_battery_mv() < FW_LOW_BATTERY_MV) s |= FW_ST_LOW_BATTERY;
    return s;
}

static void send(fw_t *f, uint8_t type, const uint8_t *payload, uint8_t plen, uint32_t now) {
    uint8_t fr[FW_MAX_FRAME], enc[FW_MAX_ENCODED + 1];
    size_t n = FW_HDR_LEN;
    fr[0] = FW_PROTO_VERSION;
    fr[1] = type;
    fr[2] = f->key_len ? FW_FLAG_AUTH : 0u;
    fr[3] = plen;
    wr16(fr + 4, f->robot_id);
    wr32(fr + 6, f->session);
    wr32(fr + 10, ++f->tx_seq);
    wr32(fr + 14, now);
    for (uint8_t i = 0; i < plen; i++) fr[n++] = payload[i];
    if (f->key_len) {
        uint8_t mac[32];
        fw_hmac_sha256(f->key, f->key_len, fr, n, mac);
        for (unsigned i = 0; i < FW_TAG_LEN; i++) fr[n++] = mac[i];
    }
    wr16(fr + n, fw_crc16(fr, n));
    n += FW_CRC_LEN;
    size_t e = fw_cobs_encode(fr, n, enc, sizeof(enc) - 1u);
    if (e == 0) return;
    enc[e++] = 0;
    hal_write(enc, e);
}

static void ack(fw_t *f, uint32_t seq, uint8_t type, uint32_t now) {
    uint8_t p[5];
    wr32(p, seq);
    p[4] = type;
    send(f, FW_MSG_ACK, p, 5, now);
}

static void nack(fw_t *f, uint32_t seq, uint8_t type, uint8_t reason, uint32_t now) {
    uint8_t p[6];
    wr32(p, seq);
    p[4] = type;
    p[5] = reason;
    f->st.rejected++;
    send(f, FW_MSG_NACK, p, 6, now);
    hal_event(FW_EV_REJECT, now, seq, type, reason);
}

static void stop_now(fw_t *f) {
    f->target_v = f->target_w = f->cur_v = f->cur_w = 0.0f;
    f->motion_active = 0;
    f->out_l = f->out_r = 0;
    hal_motors(0, 0);
}

/* Sliding window of 64 sequence numbers: 1 if seq is new (not seen, not older than the window). */
static int window_ok(const fw_window_t *w, uint32_t seq) {
    if (!w->any || seq > w->hi) return 1;
    uint32_t d = w->hi - seq;
    if (d >= 64u) return 0;
    return !((w->bits >> d) & 1u);
}

static void window_mark(fw_window_t *w, uint32_t seq) {
    if (!w->any) {
        w->any = 1; w->hi = seq; w->bits = 1u;
    } else if (seq > w->hi) {
        uint32_t d = seq - w->hi;
        w->bits = d >= 64u ? 1u : ((w->bits << d) | 1u);
        w->hi = seq;
    } else {
        w->bits |= (uint64_t)1u << (w->hi - seq);
    }
}

static int expected_len(uint8_t type) {
    switch (type) {
    case FW_MSG_SET_VELOCITY:
    case FW_MSG_SET_MOTORS: return 4;
    case FW_MSG_ARM:
    case FW_MSG_DISARM:
    case FW_MSG_ESTOP:
    case FW_MSG_CLEAR_ESTOP:
    case FW_MSG_HEARTBEAT: return 0;
    case FW_MSG_NEW_SESSION: return 4;
    default: return -1;
    }
}

static void motion(fw_t *f, uint32_t seq, uint8_t type, float v, float w, uint32_t now) {
    if (f->estop) { nack(f, seq, type, FW_NACK_ESTOPPED, now); return; }
    if (!f->armed) { nack(f, seq, type, FW_NACK_NOT_ARMED, now); return; }
    if (f->have_motion_seq && seq <= f->last_motion_seq) { f->st.stale++; nack(f, seq, type, FW_NACK_STALE, now); return; }
    f->have_motion_seq = 1;
    f->last_motion_seq = seq;
    f->target_v = clampf(v, FW_MAX_V);
    f->target_w = clampf(w, FW_MAX_W);
    f->last_motion_ms = now;
    f->motion_active = 1;
    f->wd_tripped = 0;
    f->st.actuations++;
    hal_event(FW_EV_CMD, now, seq, (int32_t)(f->target_v * 1000.0f), (int32_t)(f->target_w * 1000.0f));
    ack(f, seq, type, now);
}

static void dispatch(fw_t *f, uint8_t type, uint32_t seq, const uint8_t *p, uint32_t now) {
    switch (type) {
    case FW_MSG_SET_VELOCITY:
        motion(f, seq, type, (int16_t)rd16(p) * 0.001f, (int16_t)rd16(p + 2) * 0.001f, now);
        break;
    case FW_MSG_SET_MOTORS: {
        int16_t l = (int16_t)rd16(p), r = (int16_t)rd16(p + 2);
        if (l > 1000 || l < -1000 || r > 1000 || r < -1000) { nack(f, seq, type, FW_NACK_OUT_OF_RANGE, now); break; }
        float vl = l * (FW_WHEEL_MAX / 1000.0f), vr = r * (FW_WHEEL_MAX / 1000.0f);
        motion(f, seq, type, 0.5f * (vl + vr), (vr - vl) / FW_TRACK_M, now);
        break;
    }
    case FW_MSG_ARM:
        if (f->estop) { nack(f, seq, type, FW_NACK_ESTOPPED, now); break; }
        f->armed = 1;
        ack(f, seq, type, now);
        break;
    case FW_MSG_DISARM:
        f->armed = 0;
        stop_now(f);
        ack(f, seq, type, now);
        break;
    case FW_MSG_ESTOP:
        f->estop = 1;
        f->armed = 0;
        stop_now(f);
        hal_event(FW_EV_ESTOP, now, seq, 0, 0);
        ack(f, seq, type, now);
        break;
    case FW_MSG_CLEAR_ESTOP:
        f->estop = 0;
        ack(f, seq, type, now);
        break;
    case FW_MSG_HEARTBEAT:
        break;
    case FW_MSG_NEW_SESSION: {
        /* The host's numbers near the wrap (or its wish for a clean slate): start a new session and answer in
         * it, echoing the host's challenge. The request itself verified in the old session, so a captured copy
         * fails (window) in that session and (session) in every later one. */
        uint8_t challenge[4] = {p[0], p[1], p[2], p[3]};
        fw_new_session(f, now);
        send(f, FW_MSG_SESSION_START, challenge, 4, now);
        break;
    }
    default:
        break;
    }
}

/* Verify one decoded frame (header, payload, optional tag, CRC) and act on it. Returns 1 if it verified. */
static int handle_frame(fw_t *f, const uint8_t *fr, size_t n, uint32_t now) {
    if (n < FW_HDR_LEN + FW_CRC_LEN) { f->st.len_fail++; return 0; }
    if (fw_crc16(fr, n - FW_CRC_LEN) != rd16(fr + n - FW_CRC_LEN)) { f->st.crc_fail++; return 0; }
    uint8_t type = fr[1], flags = fr[2], plen = fr[3];
    uint16_t rid = rd16(fr + 4);
    uint32_t session = rd32(fr + 6), seq = rd32(fr + 10);
    size_t tag_len = (flags & FW_FLAG_AUTH) ? FW_TAG_LEN : 0u;
    if (fr[0] != FW_PROTO_VERSION) { f->st.version_fail++; nack(f, seq, type, FW_NACK_BAD_VERSION, now); return 0; }
    if (flags & (uint8_t)~FW_FLAG_AUTH) { f->st.flags_fail++; return 0; }
    if (plen > FW_MAX_PAYLOAD || n != FW_HDR_LEN + plen + tag_len + FW_CRC_LEN) { f->st.len_fail++; return 0; }
    if (rid != f->robot_id && !(rid == FW_BROADCAST_ID && type == FW_MSG_ESTOP)) { f->st.robot_fail++; return 0; }
    int auth_ok = !tag_len; /* key-less: an untagged frame verifies */
    if (f->key_len) {
        uint8_t mac[32];
        fw_hmac_sha256(f->key, f->key_len, fr, FW_HDR_LEN + plen, mac);
        auth_ok = tag_len && fw_ct_equal(mac, fr + FW_HDR_LEN + plen, FW_TAG_LEN);
    }
    /* E-stop only ever makes the robot safer: act on it from any sender, tagged or not, replayed or not, of
     * any session, so that no forged frame can lock the real host's e-stop out. One that does not verify
     * neither moves the replay window nor counts as contact with the host. */
    if (type == FW_MSG_ESTOP && plen == 0u && !(auth_ok && session == f->session && window_ok(&f->win, seq))) {
        f->st.estop_unverified++;
        dispatch(f, type, seq, fr + FW_HDR_LEN, now);
        return 0;
    }
    if (!auth_ok) { f->st.auth_fail++; nack(f, seq, type, FW_NACK_AUTH, now); return 0; }
    if (expected_len(type) < 0) { f->st.type_fail++; nack(f, seq, type, FW_NACK_UNKNOWN_TYPE, now); return 0; }
    if (expected_len(type) != plen) { f->st.len_fail++; nack(f, seq, type, FW_NACK_BAD_LENGTH, now); return 0; }
    /* A frame of another session (an earlier one, before a re-sync or a reboot) is never acted on. */
    if (session != f->session) { f->st.session_fail++; nack(f, seq, type, FW_NACK_SESSION, now); return 0; }
    if (!window_ok(&f->win, seq)) { f->st.replay_fail++; nack(f, seq, type, FW_NACK_REPLAY, now); return 0; }
    window_mark(&f->win, seq);
    f->st.frames_ok++;
    f->last_rx_ms = now;
    dispatch(f, type, seq, fr + FW_HDR_LEN, now);
    return 1;
}

uint32_t fw_rx_bytes(fw_t *f, const uint8_t *data, size_t n, uint32_t now) {
    uint32_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = data[i];
        if (b == 0) {
            if (f->rx_state == FW_RX_ACCUM && f->rx_len > 0) {
                uint8_t fr[FW_MAX_FRAME];
                size_t m = fw_cobs_decode(f->rx, f->rx_len, fr, sizeof(fr));
                if (m == 0) f->st.cobs_fail++;
                else ok += (uint32_t)handle_frame(f, fr, m, now);
            }
            f->rx_len = 0;
            f->rx_state = FW_RX_ACCUM;
        } else if (f->rx_state == FW_RX_ACCUM) {
            if (f->rx_len >= FW_MAX_ENCODED) {
                f->st.overflow++;
                f->rx_state = FW_RX_DISCARD; /* drop bytes until the next delimiter */
                f->rx_len = 0;
            } else {
                f->rx[f->rx_len++] = b;
            }
        }
    }
    return ok;
}

static void telemetry(fw_t *f, uint32_t now) {
    fw_odom_t o;
    uint8_t p[22];
    /* The robot's own numbers near the wrap: start a new session; this telemetry announces it. */
    if (f->tx_seq >= FW_SESSION_HIGH_WATER) fw_new_session(f, now);
    hal_odometry(&o);
    wr32(p, (uint32_t)o.x_mm);
    wr32(p + 4, (uint32_t)o.y_mm);
    wr16(p + 8, (uint16_t)o.yaw_mrad);
    wr16(p + 10, (uint16_t)o.v_mms);
    wr16(p + 12, (uint16_t)o.w_mrads);
    wr16(p + 14, hal_battery_mv());
    wr16(p + 16, fw_status(f, now));
    wr32(p + 18, f->win.any ? f->win.hi : 0u);
    send(f, FW_MSG_TELEMETRY, p, 22, now);
}

void fw_tick(fw_t *f, uint32_t now) {
    float dt = (float)(uint32_t)(now - f->last_tick_ms) * 0.001f;
    if (dt > 0.1f) dt = 0.1f;
    f->last_tick_ms = now;
    if (f->motion_active && (uint32_t)(now - f->last_motion_ms) >= FW_WATCHDOG_TRIP_MS) {
        stop_now(f);
        f->wd_tripped = 1;
        hal_event(FW_EV_WATCHDOG, now, f->last_motion_seq, (int32_t)(now - f->last_motion_ms), 0);
    }
    if (!f->armed || f->estop) {
        f->target_v = f->target_w = 0.0f;
        f->cur_v = f->cur_w = 0.0f;
    }
    f->cur_v = approach(f->cur_v, f->target_v, FW_MAX_ACC * dt);
    f->cur_w = approach(f->cur_w, f->target_w, FW_MAX_ALPHA * dt);
    float vl = f->cur_v - 0.5f * FW_TRACK_M * f->cur_w, vr = f->cur_v + 0.5f * FW_TRACK_M * f->cur_w;
    f->out_l = round_duty(clampf(vl * (1000.0f / FW_WHEEL_MAX), 1000.0f));
    f->out_r = round_duty(clampf(vr * (1000.0f / FW_WHEEL_MAX), 1000.0f));
    hal_motors(f->out_l, f->out_r);
    if ((int32_t)(now - f->next_telem_ms) >= 0) {
        telemetry(f, now);
        f->next_telem_ms += FW_TELEMETRY_MS;
        if ((int32_t)(now - f->next_telem_ms) >= 0) f->next_telem_ms = now + FW_TELEMETRY_MS;
    }
}
