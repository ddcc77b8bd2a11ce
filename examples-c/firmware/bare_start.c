/*
 * bare_start.c: the smallest start-up for an image that is linked, never
 * run: a vector table and a reset handler that calls main. No C library,
 * so that what the image holds besides the application comes from fusebox
 * (and the compiler's helper library it needs). firmware-helpers links
 * size_probe.c with it.
 */
extern int main(void);

void Reset_Handler(void);
extern unsigned _stack_top;

struct bare_vectors {
    unsigned *initial_sp;
    void (*reset)(void);
};

__attribute__((section(".vectors"), used)) const struct bare_vectors bare_vectors = {
    &_stack_top,
    Reset_Handler,
};

void Reset_Handler(void) {
    (void)main();
    for (;;) {
    }
}
