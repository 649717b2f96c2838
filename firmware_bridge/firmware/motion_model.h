/* Differential-drive motion model of the SITL (host only; the STM32 port drives real motors).
 * The host HAL feeds it the wheel duties the firmware core commands and steps it once per millisecond of the
 * SITL's own clock; its pose and wheel speeds are what the SITL reports as odometry. Pure C, no I/O, so a test
 * can compile it alone and drive it tick by tick. */
#ifndef FW_MOTION_MODEL_H
#define FW_MOTION_MODEL_H
#include <stdint.h>

#define MM_WHEEL_RADIUS_M 0.035 /* nominal wheel: 1000 permille duty = FW_WHEEL_MAX m/s at this radius */
#define MM_NOISE_TAU_S 0.1      /* correlation time of the wheel-speed noise (first-order Gauss-Markov) */
#define MM_TICK_S 0.001         /* the SITL steps the model once per ms of its clock */

typedef struct {
    double wheel_base_m;   /* wheel separation; the firmware assumes FW_TRACK_M */
    double wheel_radius_m; /* the motor turns at duty/1000 * FW_WHEEL_MAX / MM_WHEEL_RADIUS_M rad/s */
    double max_acc;        /* m/s^2 at each wheel's rim; 0: no limit. Never delays a stop (see mm_brake) */
    double noise;          /* m/s: stationary standard deviation of each turning wheel's speed error; 0: none */
    uint64_t seed;         /* noise seed: the same seed and the same duties per tick give the same path */
} mm_params_t;

typedef struct {
    mm_params_t p;
    double x, y, yaw;     /* m, m, rad in [-pi, pi] */
    double wl, wr;        /* wheel rim speeds after the acceleration limit, before noise (m/s) */
    double vl, vr;        /* wheel rim speeds the robot moved at in the last tick, noise included (m/s) */
    double v, w;          /* body speeds of the last tick (m/s, rad/s) */
    double nl, nr;        /* noise states (m/s) */
    uint64_t rng;
    uint64_t ticks;
} mm_t;

/* Defaults: the wheel base and radius the firmware assumes, no limit, no noise, seed 1. */
mm_params_t mm_default_params(void);
/* 0 and the pose at the origin, or -1 with a one-line reason (naming the SITL option) in *why. */
int mm_init(mm_t *m, const mm_params_t *p, const char **why);
/* Commanded duties (permille, -1000..1000) for dt seconds. Duties (0, 0) brake: see mm_brake. */
void mm_step(mm_t *m, int16_t duty_l, int16_t duty_r, double dt);
/* Motor driver brake (both duties zero, e.g. e-stop or watchdog): the wheels stop at once, bypassing max_acc. */
void mm_brake(mm_t *m);
#endif
