/* Minimal Cortex-M4 start-up for STM32F411: vector table, reset handler (.data/.bss, FPU on), and the few
 * libc functions the compiler may emit calls to (the build is -nostdlib: no vendor SDK, no newlib). */
#include <stddef.h>
#include <stdint.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);
void USART2_IRQHandler(void);
void SysTick_Handler(void);

void Reset_Handler(void);
void Default_Handler(void);
void Default_Handler(void) {
    for (;;) {
    }
}

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* SCB->CPACR: CP10, CP11 full access (FPU) */
    __asm volatile("dsb\n isb");
    main();
    for (;;) {
    }
}

#define IRQS 86
__attribute__((section(".isr_vector"), used)) void (*const vector_table[16 + IRQS])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Default_Handler, Default_Handler, /* SP, Reset, NMI, HardFault */
    Default_Handler, Default_Handler, Default_Handler, 0, 0, 0, 0,              /* MemManage..UsageFault */
    Default_Handler, Default_Handler, 0, Default_Handler, SysTick_Handler,      /* SVC, DebugMon, PendSV, SysTick */
    [16 ... 16 + 37] = Default_Handler,
    [16 + 38] = USART2_IRQHandler, /* USART2 */
    [16 + 39 ... 16 + IRQS - 1] = Default_Handler,
};

void *memcpy(void *d, const void *s, size_t n) {
    uint8_t *dd = d;
    const uint8_t *ss = s;
    while (n--) *dd++ = *ss++;
    return d;
}

void *memset(void *d, int c, size_t n) {
    uint8_t *dd = d;
    while (n--) *dd++ = (uint8_t)c;
    return d;
}
