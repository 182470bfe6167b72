/* board.h: what startup.c offers main.c (qemu mps2-an386, semihosting). */
#ifndef BOARD_H
#define BOARD_H
#include <stddef.h>
void board_puts(const char *s);                  /* semihosting SYS_WRITE0 */
__attribute__((noreturn)) void board_exit(int status);   /* qemu's exit code = status */
size_t board_stack_size(void);                   /* bytes reserved for the stack */
size_t board_stack_peak(void);                   /* deepest stack use so far (painted stack) */
void board_mark(void);                           /* instruction-count marker (tools/insncount.c) */
#endif
