/*
 * insncount.c: a QEMU TCG plugin that counts guest instructions exactly (QEMU 7.2, plugin API
 * version 1; Debian ships no qemu-plugin.h, so the few prototypes it needs are declared here).
 *
 *   gcc -shared -fPIC -O2 -fvisibility=hidden -o libinsncount.so insncount.c
 *   qemu-system-arm ... -plugin ./libinsncount.so,mark=0xADDR -d plugin -D insn.log
 *
 * Every translated block adds its instruction count to a counter when it runs (inline, no
 * callback). Each time the instruction at ADDR (the first instruction of board_mark) runs, the
 * counter's value is recorded; at exit the plugin writes "mark I COUNT" lines and the total.
 * The difference between two marks is the exact number of instructions executed between them
 * (plus the constant cost of one board_mark call).
 *
 * With the argument profile=1 it also writes "tb ADDR INSNS EXECS" for every translated block,
 * which tools/profile.py folds into instructions per function (for tuning kernels).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct { int smp_vcpus; int max_vcpus; int system_emulation; const char *target_name; } qemu_info_hdr;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

static uint64_t count;
static uint64_t mark_addr = UINT64_MAX;
static uint64_t *marks;
static size_t n_marks, cap_marks;

static int profile;
struct tb_count { uint64_t vaddr, insns, execs; };
static struct tb_count **tbs;
static size_t n_tbs, cap_tbs;

static void on_mark(unsigned int vcpu, void *ud) {
    (void)vcpu; (void)ud;
    if (n_marks == cap_marks) {
        cap_marks = cap_marks ? 2 * cap_marks : 1024;
        marks = realloc(marks, cap_marks * sizeof *marks);
        if (!marks) abort();
    }
    marks[n_marks++] = count;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &count, n);
    if (profile && n > 0) {
        struct tb_count *t = calloc(1, sizeof *t);
        if (!t) abort();
        t->vaddr = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, 0));
        t->insns = n;
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &t->execs, 1);
        if (n_tbs == cap_tbs) {
            cap_tbs = cap_tbs ? 2 * cap_tbs : 4096;
            tbs = realloc(tbs, cap_tbs * sizeof *tbs);
            if (!tbs) abort();
        }
        tbs[n_tbs++] = t;
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (qemu_plugin_insn_vaddr(insn) == mark_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
}

static void on_exit_cb(qemu_plugin_id_t id, void *ud) {
    (void)id; (void)ud;
    char buf[64];
    for (size_t i = 0; i < n_marks; i++) {
        snprintf(buf, sizeof buf, "mark %zu %" PRIu64 "\n", i, marks[i]);
        qemu_plugin_outs(buf);
    }
    for (size_t i = 0; i < n_tbs; i++) {
        snprintf(buf, sizeof buf, "tb 0x%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", tbs[i]->vaddr, tbs[i]->insns, tbs[i]->execs);
        qemu_plugin_outs(buf);
    }
    snprintf(buf, sizeof buf, "total %" PRIu64 "\n", count);
    qemu_plugin_outs(buf);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_hdr *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "mark=", 5)) mark_addr = strtoull(argv[i] + 5, NULL, 0) & ~1ull;
        else if (!strcmp(argv[i], "profile=1")) profile = 1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
