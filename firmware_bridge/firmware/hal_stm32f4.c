/* Cortex-M4 HAL port for STM32F411, register level (no vendor SDK). Clock: 16 MHz HSI (reset default).
 *   USART2 PA2/PA3 (AF7) 115200 8N1, RX interrupt into a ring buffer, TX polled
 *   TIM3 CH1/CH2 PA6/PA7 (AF2) 20 kHz PWM to the motor driver, direction on PB0/PB1
 *   SysTick 1 kHz millisecond tick; ADC1 IN0 (PA0) battery through a 1:4 divider
 *   Session nonces: the F411 has no RNG, so SHA-256 of a boot/session counter in RTC backup register 0, the
 *   unique device ID and ADC noise (a counter that only grows: unlike every earlier nonce while VBAT holds)
 * Odometry here is dead reckoning from the commanded wheel speeds; wire encoders to TIM2/TIM4 for real odometry. */
#include <stdint.h>

#include "fw_core.h"
#include "hal.h"
#include "sha256.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC 0x40023800u
#define RCC_AHB1ENR REG(RCC + 0x30u)
#define RCC_APB1ENR REG(RCC + 0x40u)
#define RCC_APB2ENR REG(RCC + 0x44u)
#define GPIOA 0x40020000u
#define GPIOB 0x40020400u
#define GPIO_MODER(p) REG((p) + 0x00u)
#define GPIO_BSRR(p) REG((p) + 0x18u)
#define GPIO_AFRL(p) REG((p) + 0x20u)
#define USART2 0x40004400u
#define USART_SR REG(USART2 + 0x00u)
#define USART_DR REG(USART2 + 0x04u)
#define USART_BRR REG(USART2 + 0x08u)
#define USART_CR1 REG(USART2 + 0x0Cu)
#define TIM3 0x40000400u
#define TIM_CR1 REG(TIM3 + 0x00u)
#define TIM_EGR REG(TIM3 + 0x14u)
#define TIM_CCMR1 REG(TIM3 + 0x18u)
#define TIM_CCER REG(TIM3 + 0x20u)
#define TIM_PSC REG(TIM3 + 0x28u)
#define TIM_ARR REG(TIM3 + 0x2Cu)
#define TIM_CCR1 REG(TIM3 + 0x34u)
#define TIM_CCR2 REG(TIM3 + 0x38u)
#define ADC1 0x40012000u
#define ADC_SR REG(ADC1 + 0x00u)
#define ADC_CR2 REG(ADC1 + 0x08u)
#define ADC_SQR3 REG(ADC1 + 0x34u)
#define ADC_DR REG(ADC1 + 0x4Cu)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define NVIC_ISER1 REG(0xE000E104u)
#define PWR_CR REG(0x40007000u)
#define RTC_BKP0R REG(0x40002850u) /* backup domain: survives reset and, with VBAT, power loss */
#define UID_BASE 0x1FFF7A10u       /* 96-bit unique device ID */

#define HCLK_HZ 16000000u
#define PWM_TOP 799u /* 16 MHz / 800 = 20 kHz */
#define ROBOT_ID 1u

/* Per-robot key, written into this flash section when the robot is provisioned (all zero: auth off). */
__attribute__((section(".fw_key"), used)) const volatile uint8_t fw_key[32] = {0}; /* volatile: patched in flash */

static volatile uint32_t ms_ticks;
static volatile uint8_t rx_ring[256];
static volatile uint8_t rx_head, rx_tail;
static float odo_x, odo_y, odo_yaw, odo_v, odo_w;
static int16_t duty_l, duty_r;
static fw_t fw;

void SysTick_Handler(void) { ms_ticks++; }

void USART2_IRQHandler(void) {
    uint32_t sr = USART_SR;
    if (sr & ((1u << 5) | (1u << 3))) { /* RXNE or ORE: reading DR clears both */
        uint8_t b = (uint8_t)USART_DR;
        uint8_t next = (uint8_t)(rx_head + 1u);
        if (next != rx_tail) { /* full ring: drop the byte, the frame CRC will catch it */
            rx_ring[rx_head] = b;
            rx_head = next;
        }
    }
}

uint32_t hal_millis(void) { return ms_ticks; }

static void set_pwm(volatile uint32_t *ccr, uint32_t dir_pin, int16_t duty) {
    uint32_t mag = (uint32_t)(duty < 0 ? -duty : duty);
    GPIO_BSRR(GPIOB) = duty < 0 ? (1u << dir_pin) : (1u << (dir_pin + 16u));
    *ccr = mag * (PWM_TOP + 1u) / 1000u;
}

void hal_motors(int16_t left, int16_t right) {
    duty_l = left;
    duty_r = right;
    set_pwm(&TIM_CCR1, 0u, left);
    set_pwm(&TIM_CCR2, 1u, right);
}

/* sin/cos without libm: range-reduce to [-pi, pi], 7th-order Taylor series (error < 1e-3 rad scale). */
static float wrap_pi(float a) {
    while (a > 3.14159265f) a -= 6.28318531f;
    while (a < -3.14159265f) a += 6.28318531f;
    return a;
}
static float sin_approx(float a) {
    a = wrap_pi(a);
    if (a > 1.57079633f) a = 3.14159265f - a;
    if (a < -1.57079633f) a = -3.14159265f - a;
    float a2 = a * a;
    return a * (1.0f - a2 / 6.0f * (1.0f - a2 / 20.0f * (1.0f - a2 / 42.0f)));
}
static float cos_approx(float a) { return sin_approx(a + 1.57079633f); }

static void odometry_step(float dt) {
    float vl = duty_l * (FW_WHEEL_MAX / 1000.0f), vr = duty_r * (FW_WHEEL_MAX / 1000.0f);
    odo_v = 0.5f * (vl + vr);
    odo_w = (vr - vl) / FW_TRACK_M;
    odo_x += odo_v * cos_approx(odo_yaw) * dt;
    odo_y += odo_v * sin_approx(odo_yaw) * dt;
    odo_yaw = wrap_pi(odo_yaw + odo_w * dt);
}

static int32_t to_milli(float x) { return (int32_t)(x >= 0.0f ? x * 1000.0f + 0.5f : x * 1000.0f - 0.5f); }

void hal_odometry(fw_odom_t *o) {
    o->x_mm = to_milli(odo_x);
    o->y_mm = to_milli(odo_y);
    o->yaw_mrad = (int16_t)to_milli(odo_yaw);
    o->v_mms = (int16_t)to_milli(odo_v);
    o->w_mrads = (int16_t)to_milli(odo_w);
}

uint16_t hal_battery_mv(void) {
    ADC_CR2 |= (1u << 30); /* SWSTART */
    for (uint32_t i = 0; i < 1000u && !(ADC_SR & (1u << 1)); i++) {
    }
    uint32_t raw = ADC_DR & 0xFFFu; /* 12 bit, 3.3 V reference, 1:4 divider */
    return (uint16_t)(raw * 3300u * 4u / 4095u);
}

uint32_t hal_session_nonce(void) {
    uint32_t count = RTC_BKP0R + 1u;
    RTC_BKP0R = count; /* writable since board_init set PWR_CR.DBP */
    uint8_t buf[4 + 12 + 32];
    uint32_t uid[3] = {REG(UID_BASE), REG(UID_BASE + 4u), REG(UID_BASE + 8u)};
    for (unsigned i = 0; i < 4u; i++) buf[i] = (uint8_t)(count >> (8u * i));
    for (unsigned i = 0; i < 12u; i++) buf[4u + i] = (uint8_t)(uid[i / 4u] >> (8u * (i % 4u)));
    for (unsigned i = 0; i < 32u; i++) buf[16u + i] = (uint8_t)(hal_battery_mv() ^ SYST_CVR); /* noise LSBs */
    fw_sha256_t h;
    uint8_t out[32];
    fw_sha256_init(&h);
    fw_sha256_update(&h, buf, sizeof(buf));
    fw_sha256_final(&h, out);
    return (uint32_t)out[0] | ((uint32_t)out[1] << 8) | ((uint32_t)out[2] << 16) | ((uint32_t)out[3] << 24);
}

void hal_write(const uint8_t *data, size_t n) {
    for (size_t i = 0; i < n; i++) {
        while (!(USART_SR & (1u << 7))) { /* TXE */
        }
        USART_DR = data[i];
    }
}

void hal_event(fw_event_t ev, uint32_t now, uint32_t seq, int32_t a, int32_t b) {
    (void)ev; (void)now; (void)seq; (void)a; (void)b;
}

static void board_init(void) {
    RCC_AHB1ENR |= (1u << 0) | (1u << 1);  /* GPIOA, GPIOB */
    RCC_APB1ENR |= (1u << 1) | (1u << 17) | (1u << 28); /* TIM3, USART2, PWR */
    PWR_CR |= (1u << 8);                                  /* DBP: the backup registers become writable */
    RCC_APB2ENR |= (1u << 8);              /* ADC1 */
    /* PA0 analog; PA2, PA3 AF7 (USART2); PA6, PA7 AF2 (TIM3 CH1, CH2) */
    GPIO_MODER(GPIOA) = (GPIO_MODER(GPIOA) & ~0xF0FFu) | (3u << 0) | (2u << 4) | (2u << 6) | (2u << 12) | (2u << 14);
    GPIO_AFRL(GPIOA) = (GPIO_AFRL(GPIOA) & ~0xFF00FF00u) | (7u << 8) | (7u << 12) | (2u << 24) | (2u << 28);
    GPIO_MODER(GPIOB) = (GPIO_MODER(GPIOB) & ~0xFu) | (1u << 0) | (1u << 2); /* PB0, PB1 outputs */
    USART_BRR = (HCLK_HZ + 115200u / 2u) / 115200u;
    USART_CR1 = (1u << 13) | (1u << 5) | (1u << 3) | (1u << 2); /* UE, RXNEIE, TE, RE */
    NVIC_ISER1 = 1u << (38u - 32u);                             /* USART2 IRQ 38 */
    TIM_PSC = 0;
    TIM_ARR = PWM_TOP;
    TIM_CCMR1 = (6u << 4) | (1u << 3) | (6u << 12) | (1u << 11); /* PWM mode 1 + preload, CH1 and CH2 */
    TIM_CCER = (1u << 0) | (1u << 4);
    TIM_EGR = 1u;
    TIM_CR1 = (1u << 7) | 1u; /* ARPE, CEN */
    ADC_SQR3 = 0;             /* channel 0 */
    ADC_CR2 = 1u;             /* ADON */
    SYST_RVR = HCLK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

int main(void) {
    board_init();
    uint8_t key[sizeof(fw_key)];
    size_t key_len = 0;
    for (size_t i = 0; i < sizeof(fw_key); i++) {
        key[i] = fw_key[i];
        if (key[i]) key_len = sizeof(fw_key);
    }
    fw_init(&fw, ROBOT_ID, key, key_len, hal_millis());
    uint32_t last = hal_millis();
    for (;;) {
        while (rx_tail != rx_head) {
            uint8_t b = rx_ring[rx_tail];
            rx_tail = (uint8_t)(rx_tail + 1u);
            fw_rx_bytes(&fw, &b, 1, hal_millis());
        }
        uint32_t now = hal_millis();
        if (now != last) { /* 1 kHz control tick */
            odometry_step((float)(now - last) * 0.001f);
            fw_tick(&fw, now);
            last = now;
        }
        __asm volatile("wfi");
    }
}
