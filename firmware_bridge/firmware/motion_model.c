#include "motion_model.h"

#include <math.h>
#include <stddef.h>

#include "fw_protocol.h"

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Standard normal draw (Box-Muller; one of the pair, so each draw costs two uniforms: simple and reproducible). */
static double gauss(uint64_t *s) {
    double u1 = ((double)(splitmix64(s) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
    double u2 = (double)(splitmix64(s) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double approach(double cur, double target, double step) {
    if (step <= 0.0) return target; /* no limit */
    if (target > cur + step) return cur + step;
    if (target < cur - step) return cur - step;
    return target;
}

mm_params_t mm_default_params(void) {
    mm_params_t p = {FW_TRACK_M, MM_WHEEL_RADIUS_M, 0.0, 0.0, 1u};
    return p;
}

int mm_init(mm_t *m, const mm_params_t *p, const char **why) {
    *why = !(p->wheel_base_m > 0.01 && p->wheel_base_m <= 5.0)       ? "--wheel-base must be in (0.01, 5] m"
           : !(p->wheel_radius_m > 0.001 && p->wheel_radius_m <= 1.0) ? "--wheel-radius must be in (0.001, 1] m"
           : !(p->max_acc >= 0.0 && p->max_acc <= 1000.0) ? "--max-accel must be in [0, 1000] m/s^2 (0: no limit)"
           : !(p->noise >= 0.0 && p->noise <= 10.0)       ? "--wheel-noise must be in [0, 10] m/s (0: none)"
                                                          : NULL;
    if (*why) return -1;
    *m = (mm_t){0};
    m->p = *p;
    m->rng = p->seed;
    return 0;
}

void mm_brake(mm_t *m) {
    m->wl = m->wr = m->vl = m->vr = m->v = m->w = 0.0;
}

void mm_step(mm_t *m, int16_t duty_l, int16_t duty_r, double dt) {
    const double rim_per_permille = (double)FW_WHEEL_MAX / 1000.0 / MM_WHEEL_RADIUS_M * m->p.wheel_radius_m;
    m->ticks++;
    if (m->p.noise > 0.0) { /* drawn every tick, turning or not, so the sequence depends on the tick count only */
        double a = exp(-dt / MM_NOISE_TAU_S), b = m->p.noise * sqrt(1.0 - a * a);
        m->nl = a * m->nl + b * gauss(&m->rng);
        m->nr = a * m->nr + b * gauss(&m->rng);
    }
    if (duty_l == 0 && duty_r == 0) {
        mm_brake(m);
        return;
    }
    m->wl = approach(m->wl, duty_l * rim_per_permille, m->p.max_acc * dt);
    m->wr = approach(m->wr, duty_r * rim_per_permille, m->p.max_acc * dt);
    m->vl = m->wl != 0.0 ? m->wl + m->nl : 0.0; /* a wheel at rest does not slip */
    m->vr = m->wr != 0.0 ? m->wr + m->nr : 0.0;
    m->v = 0.5 * (m->vl + m->vr);
    m->w = (m->vr - m->vl) / m->p.wheel_base_m;
    double dyaw = m->w * dt, yaw1 = m->yaw + dyaw;
    if (fabs(dyaw) > 1e-12) { /* exact arc for constant speeds over the tick */
        m->x += m->v / m->w * (sin(yaw1) - sin(m->yaw));
        m->y -= m->v / m->w * (cos(yaw1) - cos(m->yaw));
    } else {
        m->x += m->v * cos(m->yaw) * dt;
        m->y += m->v * sin(m->yaw) * dt;
    }
    m->yaw = atan2(sin(yaw1), cos(yaw1));
}
