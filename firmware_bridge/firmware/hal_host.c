/* Host HAL and SITL main: differential-drive motion model (motion_model.c), serial over a pty or UDP.
 *   sitl --pty | --udp 127.0.0.1:PORT  [--robot-id N] [--key-hex HEX] [--events FILE] [--session HEX] [--tx-seq N]
 *        [--wheel-base M] [--wheel-radius M] [--max-accel A] [--wheel-noise S] [--seed N]
 * The model steps once per ms of the SITL clock (hal_millis) with the duties the core last commanded.
 *   sitl --fuzz [--robot-id N] [--key-hex HEX] [--events FILE]   (stdin bytes -> parser on a simulated 1 ms per
 *                                        61 bytes clock; prints ACT lines and a STATS line; session 0 unless given)
 * Session nonces come from /dev/urandom; --session fixes the first one and --tx-seq N starts the robot's own
 * sequence numbers at N (test hooks: a session that starts near the wrap).
 * The events file rate-limits reject and e-stop lines (LINES_PER_S) and summarises the rest.
 * Prints "READY pty=PATH" or "READY udp=HOST:PORT" on stdout once it listens. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fw_core.h"
#include "hal.h"
#include "motion_model.h"

static struct timespec t0;
static int16_t duty_l, duty_r;
static mm_t model;
static double battery_mv = 12600.0;
static int link_fd = -1, use_udp, fuzz_mode;
static struct sockaddr_in peer, reply_to;
static int have_peer, have_reply_to;
static FILE *events;
static volatile sig_atomic_t stop_flag;
static uint32_t first_nonce;
static int have_first_nonce;

uint32_t hal_session_nonce(void) {
    if (have_first_nonce) {
        have_first_nonce = 0;
        return first_nonce;
    }
    uint32_t n = 0;
    FILE *r = fopen("/dev/urandom", "rb");
    if (!r || fread(&n, sizeof(n), 1, r) != 1) { /* no urandom: clock bits, never the same twice in a row */
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        n = (uint32_t)t.tv_nsec * 2654435761u ^ (uint32_t)t.tv_sec ^ (uint32_t)getpid();
    }
    if (r) fclose(r);
    return n;
}

uint32_t hal_millis(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint32_t)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
}

void hal_motors(int16_t left, int16_t right) {
    if (events && (duty_l || duty_r) && !left && !right)
        fprintf(events, "EV motors_zero t=%u\n", hal_millis());
    duty_l = left;
    duty_r = right;
    if (!left && !right) mm_brake(&model); /* the driver brakes: odometry reads zero speed in this very tick */
}

/* One ms of the SITL clock: the model moves on the duties the core last set, the battery drains. */
static void sim_tick(void) {
    mm_step(&model, duty_l, duty_r, MM_TICK_S);
    battery_mv -= (fabs(model.vl) + fabs(model.vr)) * MM_TICK_S * 2.0 + MM_TICK_S * 0.5;
}

void hal_odometry(fw_odom_t *o) {
    o->x_mm = (int32_t)lround(model.x * 1000.0);
    o->y_mm = (int32_t)lround(model.y * 1000.0);
    o->yaw_mrad = (int16_t)lround(model.yaw * 1000.0);
    o->v_mms = (int16_t)lround(model.v * 1000.0);
    o->w_mrads = (int16_t)lround(model.w * 1000.0);
}

/* A motion-model option's value: a finite number, or exit 2 with the option's name and the fix. */
static double model_option(const char *name, const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) {
        fprintf(stderr, "sitl: %s: not a number: '%s'\n", name, s);
        exit(2);
    }
    return v;
}

uint16_t hal_battery_mv(void) { return (uint16_t)(battery_mv < 0 ? 0 : battery_mv); }

void hal_write(const uint8_t *data, size_t n) {
    if (fuzz_mode || link_fd < 0) return;
    if (use_udp) { /* an answer goes to whoever asked (so a host learns the session nonce from a Nack), the rest
                    * (telemetry) to the sender of the last verified frame */
        if (have_reply_to) (void)sendto(link_fd, data, n, 0, (struct sockaddr *)&reply_to, sizeof(reply_to));
        else if (have_peer) (void)sendto(link_fd, data, n, 0, (struct sockaddr *)&peer, sizeof(peer));
        return;
    }
    ssize_t w = write(link_fd, data, n); /* non-blocking: a full pty drops telemetry like a real UART */
    (void)w;
}

/* Reject and e-stop lines (both can come from anyone on the link) are rate-limited so that a flood of frames
 * cannot grow the event log without bound: at most LINES_PER_S lines of each kind per second of the SITL
 * clock; the rest are counted and summarised once that second is over, as one "EV reject_suppressed t=...
 * count=N" (or "EV estop_suppressed") line. Accepted commands and watchdog stops are always logged. */
#define LINES_PER_S 20u
static uint32_t limit_window_ms, limit_lines[2], limit_suppressed[2];

static void events_flush(uint32_t now) {
    if (!events || (uint32_t)(now - limit_window_ms) < 1000u) return;
    if (limit_suppressed[0]) fprintf(events, "EV reject_suppressed t=%u count=%u\n", now, limit_suppressed[0]);
    if (limit_suppressed[1]) fprintf(events, "EV estop_suppressed t=%u count=%u\n", now, limit_suppressed[1]);
    limit_window_ms = now;
    limit_lines[0] = limit_lines[1] = limit_suppressed[0] = limit_suppressed[1] = 0;
}

/* 1 if a line of this kind (0 reject, 1 e-stop) may be written now; else it is counted as suppressed. */
static int limit_allows(int kind, uint32_t now) {
    events_flush(now);
    if (limit_lines[kind] >= LINES_PER_S) {
        limit_suppressed[kind]++;
        return 0;
    }
    limit_lines[kind]++;
    return 1;
}

void hal_event(fw_event_t ev, uint32_t now, uint32_t seq, int32_t a, int32_t b) {
    if (fuzz_mode && ev == FW_EV_CMD) printf("ACT %u %d %d\n", seq, a, b);
    if (!events) return;
    switch (ev) {
    case FW_EV_CMD: fprintf(events, "EV cmd t=%u seq=%u v=%d w=%d\n", now, seq, a, b); break;
    case FW_EV_WATCHDOG: fprintf(events, "EV watchdog t=%u seq=%u since=%d\n", now, seq, a); break;
    case FW_EV_ESTOP:
        if (limit_allows(1, now)) fprintf(events, "EV estop t=%u seq=%u\n", now, seq);
        break;
    case FW_EV_REJECT:
        if (limit_allows(0, now)) fprintf(events, "EV reject t=%u seq=%u type=%d reason=%d\n", now, seq, a, b);
        break;
    case FW_EV_SESSION:
        fprintf(events, "EV session t=%u nonce=%u old=%u\n", now, (uint32_t)a, (uint32_t)b);
        break;
    }
}

/* Parse a whole hex key: 16..FW_KEY_MAX bytes, not all zero (all zero means "authentication off" on the MCU).
 * Returns the length, or 0 with a one-line reason in `why`. Never truncates. */
static size_t parse_key_hex(const char *s, uint8_t *out, size_t cap, const char **why) {
    size_t len = strlen(s), n = 0;
    uint8_t any = 0;
    if (len % 2u) { *why = "odd number of hex digits"; return 0; }
    if (len / 2u < 16u || len / 2u > cap) { *why = "key must be 16..64 bytes (32..128 hex digits)"; return 0; }
    for (size_t i = 0; i < len; i += 2u) {
        char pair[3] = {s[i], s[i + 1u], 0};
        char *end;
        if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1])) { *why = "not hex"; return 0; }
        out[n] = (uint8_t)strtoul(pair, &end, 16);
        any |= out[n++];
    }
    if (!any) { *why = "an all-zero key means authentication off; use a random key"; return 0; }
    return n;
}

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static int run_fuzz(fw_t *f) {
    static uint8_t buf[1 << 16];
    uint32_t now = 1000;
    f->armed = 1;
    ssize_t r;
    while ((r = read(0, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < r; i += 61) {
            size_t n = (size_t)(r - i) < 61u ? (size_t)(r - i) : 61u;
            fw_rx_bytes(f, buf + i, n, now);
            fw_tick(f, now);
            now += 1;
            f->armed = 1; /* keep the target armed so that any accepted motion frame would actuate */
        }
    }
    events_flush(now + 1000u);
    printf("STATS frames_ok=%u crc_fail=%u cobs_fail=%u len_fail=%u version_fail=%u flags_fail=%u robot_fail=%u "
           "auth_fail=%u replay_fail=%u type_fail=%u stale=%u overflow=%u rejected=%u actuations=%u session_fail=%u\n",
           f->st.frames_ok, f->st.crc_fail, f->st.cobs_fail, f->st.len_fail, f->st.version_fail, f->st.flags_fail,
           f->st.robot_fail, f->st.auth_fail, f->st.replay_fail, f->st.type_fail, f->st.stale, f->st.overflow,
           f->st.rejected, f->st.actuations, f->st.session_fail);
    return 0;
}

static int open_pty(char *name, size_t cap) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) return -1;
    const char *s = ptsname(m);
    if (!s) return -1;
    snprintf(name, cap, "%s", s);
    int sl = open(name, O_RDWR | O_NOCTTY); /* kept open so the master never sees a hang-up */
    struct termios t;
    if (sl >= 0 && tcgetattr(sl, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(sl, TCSANOW, &t);
    }
    if (tcgetattr(m, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(m, TCSANOW, &t);
    }
    fcntl(m, F_SETFL, O_NONBLOCK);
    return m;
}

static int open_udp(const char *spec, char *desc, size_t cap) {
    char host[64];
    int port = 0;
    if (sscanf(spec, "%63[^:]:%d", host, &port) != 2) return -1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || bind(s, (struct sockaddr *)&a, sizeof(a))) return -1;
    socklen_t len = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &len);
    snprintf(desc, cap, "%s:%d", host, ntohs(a.sin_port));
    fcntl(s, F_SETFL, O_NONBLOCK);
    return s;
}

int main(int argc, char **argv) {
    uint8_t key[FW_KEY_MAX];
    size_t key_len = 0;
    unsigned robot = 1;
    const char *udp = NULL;
    int pty = 0;
    uint32_t tx_seq = 0;
    mm_params_t model_params = mm_default_params();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pty")) pty = 1;
        else if (!strcmp(argv[i], "--fuzz")) fuzz_mode = 1;
        else if (!strcmp(argv[i], "--udp") && i + 1 < argc) udp = argv[++i];
        else if (!strcmp(argv[i], "--robot-id") && i + 1 < argc) robot = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--session") && i + 1 < argc) {
            first_nonce = (uint32_t)strtoul(argv[++i], NULL, 16);
            have_first_nonce = 1;
        } else if (!strcmp(argv[i], "--tx-seq") && i + 1 < argc) tx_seq = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--key-hex") && i + 1 < argc) {
            const char *why = "";
            key_len = parse_key_hex(argv[++i], key, sizeof(key), &why);
            if (!key_len) {
                fprintf(stderr, "sitl: --key-hex: %s\n", why);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--wheel-base") && i + 1 < argc)
            model_params.wheel_base_m = model_option(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--wheel-radius") && i + 1 < argc)
            model_params.wheel_radius_m = model_option(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--max-accel") && i + 1 < argc)
            model_params.max_acc = model_option(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--wheel-noise") && i + 1 < argc)
            model_params.noise = model_option(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            char *end;
            model_params.seed = (uint64_t)strtoull(argv[++i], &end, 0);
            if (end == argv[i] || *end || argv[i][0] == '-') {
                fprintf(stderr, "sitl: --seed: not an unsigned integer: '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--events") && i + 1 < argc) {
            events = fopen(argv[++i], "w");
            if (events) setvbuf(events, NULL, _IOLBF, 0);
        } else {
            fprintf(stderr,
                    "usage: %s --pty | --udp HOST:PORT | --fuzz [--robot-id N] [--key-hex HEX] [--events F] "
                    "[--session HEX] [--tx-seq N] [--wheel-base M] [--wheel-radius M] [--max-accel A] "
                    "[--wheel-noise S] [--seed N]\n",
                    argv[0]);
            return 2;
        }
    }
    const char *model_why = "";
    if (mm_init(&model, &model_params, &model_why)) {
        fprintf(stderr, "sitl: motion model: %s\n", model_why);
        return 2;
    }
    static fw_t f;
    if (fuzz_mode && !have_first_nonce) { /* the fuzz stream is made offline: its frames name session 0 */
        first_nonce = 0;
        have_first_nonce = 1;
    }
    fw_init(&f, (uint16_t)robot, key, key_len, hal_millis());
    f.tx_seq = tx_seq;
    limit_window_ms = fuzz_mode ? 1000u : hal_millis();
    if (fuzz_mode) return run_fuzz(&f);
    char desc[128];
    if (pty) link_fd = open_pty(desc, sizeof(desc));
    else if (udp) {
        use_udp = 1;
        link_fd = open_udp(udp, desc, sizeof(desc));
    }
    if (link_fd < 0) {
        fprintf(stderr, "sitl: cannot open link (%s)\n", strerror(errno));
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("READY %s=%s robot=%u auth=%d session=%08x\n", use_udp ? "udp" : "pty", desc, robot, key_len ? 1 : 0,
           f.session);
    fflush(stdout);
    uint32_t sim_ms = hal_millis();
    while (!stop_flag) {
        struct pollfd p = {link_fd, POLLIN, 0};
        poll(&p, 1, 1);
        uint8_t buf[512];
        for (;;) {
            ssize_t r;
            if (use_udp) {
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                r = recvfrom(link_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
                reply_to = from;
                have_reply_to = r > 0;
                if (r > 0 && fw_rx_bytes(&f, buf, (size_t)r, hal_millis()) > 0) {
                    peer = from; /* telemetry goes to whoever last sent a verified frame */
                    have_peer = 1;
                }
                have_reply_to = 0;
            } else {
                r = read(link_fd, buf, sizeof(buf));
                if (r > 0) fw_rx_bytes(&f, buf, (size_t)r, hal_millis());
            }
            if (r <= 0) break;
        }
        for (uint32_t now = hal_millis(); sim_ms != now; sim_ms++) sim_tick(); /* every ms, none skipped */
        fw_tick(&f, hal_millis());
        events_flush(hal_millis());
    }
    events_flush(hal_millis() + 1000u);
    hal_motors(0, 0);
    return 0;
}
