/*
 * x86-64 psABI microarchitecture levels (x86-64-v1 .. x86-64-v4), computed from raw CPUID
 * and XGETBV results so that the decision can be tested with synthetic inputs.
 */
#ifndef BACKENDD_PLUGINS_X86_64_LEVEL_H
#define BACKENDD_PLUGINS_X86_64_LEVEL_H

#include <stddef.h>
#include <stdint.h>

#define X86_64_LEVEL_MAX 4

/* One CPUID result. */
struct x86_64_cpuid {
  uint32_t eax, ebx, ecx, edx;
};

/* What the level decision reads. A leaf the CPU does not have is all zero. */
struct x86_64_cpu {
  char vendor[13];           /* CPUID.0: EBX EDX ECX, NUL-terminated */
  struct x86_64_cpuid leaf1; /* CPUID.1 */
  struct x86_64_cpuid leaf7; /* CPUID.(EAX=7, ECX=0) */
  struct x86_64_cpuid ext1;  /* CPUID.80000001h */
  uint64_t xcr0;             /* XGETBV(ECX=0); zero when CPUID.1:ECX.OSXSAVE is clear */
};

/*
 * The levels this CPU supports: bit N-1 for level vN. Levels are cumulative (vN requires
 * v(N-1)), so the answer is 0 or 2^k - 1.
 */
unsigned x86_64_levels(const struct x86_64_cpu *cpu);

/* Reads the running CPU. 0, or -ENOTSUP when not built for x86_64. */
int x86_64_cpu_read(struct x86_64_cpu *cpu);

/*
 * A short text naming the CPU and its levels: vendor, family, model, stepping and the level
 * bitmask. 0, or -ENOSPC when it does not fit in len bytes (NUL included).
 */
int x86_64_fingerprint(const struct x86_64_cpu *cpu, char *buf, size_t len);

#endif
