/*
 * x86-64 microarchitecture levels, as the x86-64 psABI defines them:
 *   v1: CMOV CX8 FPU FXSR MMX OSFXSR SCE SSE SSE2 (the x86-64 baseline)
 *   v2: CMPXCHG16B LAHF-SAHF POPCNT SSE3 SSE4_1 SSE4_2 SSSE3
 *   v3: AVX AVX2 BMI1 BMI2 F16C FMA LZCNT MOVBE OSXSAVE
 *   v4: AVX512F AVX512BW AVX512CD AVX512DQ AVX512VL
 * A CPU flag alone is not enough for AVX and AVX-512: the OS must also save that register
 * state on context switches, which it says in XCR0 (read with XGETBV once OSXSAVE is set).
 */
#include "level.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#define BIT(n) (UINT32_C(1) << (n))

/* XCR0 state components (Intel SDM vol. 1, 13.1). */
#define XCR0_SSE (UINT64_C(1) << 1)
#define XCR0_AVX (UINT64_C(1) << 2)
#define XCR0_OPMASK (UINT64_C(1) << 5)
#define XCR0_ZMM_HI256 (UINT64_C(1) << 6)
#define XCR0_HI16_ZMM (UINT64_C(1) << 7)

/* What one level adds: CPUID bits per register, and the XCR0 state the OS must enable. */
struct level_requirement {
  uint32_t leaf1_ecx, leaf1_edx, leaf7_ebx, ext1_ecx, ext1_edx;
  uint64_t xcr0;
};

static const struct level_requirement requirements[X86_64_LEVEL_MAX] = {
    {
        /* v1: FPU CX8 CMOV MMX FXSR SSE SSE2; SCE (SYSCALL). OSFXSR is a CR4 bit nobody
         * can read from user space; a 64-bit OS always sets it. */
        .leaf1_edx = BIT(0) | BIT(8) | BIT(15) | BIT(23) | BIT(24) | BIT(25) | BIT(26),
        .ext1_edx = BIT(11),
    },
    {
        /* v2: SSE3 SSSE3 CMPXCHG16B SSE4_1 SSE4_2 POPCNT; LAHF-SAHF in 64-bit mode. */
        .leaf1_ecx = BIT(0) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(23),
        .ext1_ecx = BIT(0),
    },
    {
        /* v3: FMA MOVBE OSXSAVE AVX F16C; BMI1 AVX2 BMI2; LZCNT (ABM); XMM and YMM state. */
        .leaf1_ecx = BIT(12) | BIT(22) | BIT(27) | BIT(28) | BIT(29),
        .leaf7_ebx = BIT(3) | BIT(5) | BIT(8),
        .ext1_ecx = BIT(5),
        .xcr0 = XCR0_SSE | XCR0_AVX,
    },
    {
        /* v4: AVX512F AVX512DQ AVX512CD AVX512BW AVX512VL; opmask and all of ZMM state. */
        .leaf7_ebx = BIT(16) | BIT(17) | BIT(28) | BIT(30) | BIT(31),
        .xcr0 = XCR0_SSE | XCR0_AVX | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM,
    },
};

#define OSXSAVE BIT(27) /* CPUID.1:ECX */

static int has_all(uint64_t have, uint64_t want) { return (have & want) == want; }

static int meets(const struct x86_64_cpu *cpu, const struct level_requirement *r) {
  /* Without OSXSAVE, XGETBV faults, so any XCR0 value given is meaningless. */
  uint64_t xcr0 = (cpu->leaf1.ecx & OSXSAVE) ? cpu->xcr0 : 0;
  return has_all(cpu->leaf1.ecx, r->leaf1_ecx) && has_all(cpu->leaf1.edx, r->leaf1_edx) &&
         has_all(cpu->leaf7.ebx, r->leaf7_ebx) && has_all(cpu->ext1.ecx, r->ext1_ecx) &&
         has_all(cpu->ext1.edx, r->ext1_edx) && has_all(xcr0, r->xcr0);
}

unsigned x86_64_levels(const struct x86_64_cpu *cpu) {
  unsigned mask = 0;
  /* Cumulative: the first level not met ends the list, whatever later bits say. */
  for (unsigned i = 0; i < X86_64_LEVEL_MAX && meets(cpu, &requirements[i]); i++)
    mask |= 1u << i;
  return mask;
}

#if defined(__x86_64__)
static uint64_t read_xcr0(void) {
  uint32_t lo, hi;
  /* The instruction rather than _xgetbv(), which needs -mxsave for the whole file. */
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

int x86_64_cpu_read(struct x86_64_cpu *cpu) {
  uint32_t max, b, c, d;
  memset(cpu, 0, sizeof *cpu);
  if (!__get_cpuid(0, &max, &b, &c, &d))
    return -ENOTSUP;
  memcpy(cpu->vendor, &b, 4);
  memcpy(cpu->vendor + 4, &d, 4);
  memcpy(cpu->vendor + 8, &c, 4);
  /* Each call checks the leaf against the maximum and leaves absent leaves zero. */
  __get_cpuid(1, &cpu->leaf1.eax, &cpu->leaf1.ebx, &cpu->leaf1.ecx, &cpu->leaf1.edx);
  __get_cpuid_count(7, 0, &cpu->leaf7.eax, &cpu->leaf7.ebx, &cpu->leaf7.ecx, &cpu->leaf7.edx);
  __get_cpuid(0x80000001u, &cpu->ext1.eax, &cpu->ext1.ebx, &cpu->ext1.ecx, &cpu->ext1.edx);
  if (cpu->leaf1.ecx & OSXSAVE)
    cpu->xcr0 = read_xcr0();
  return 0;
}
#else
int x86_64_cpu_read(struct x86_64_cpu *cpu) {
  memset(cpu, 0, sizeof *cpu);
  return -ENOTSUP;
}
#endif

int x86_64_fingerprint(const struct x86_64_cpu *cpu, char *buf, size_t len) {
  uint32_t eax = cpu->leaf1.eax;
  uint32_t family = (eax >> 8) & 0xf, model = (eax >> 4) & 0xf, stepping = eax & 0xf;
  int n;
  /* Display family and model, as the SDM computes them (CPUID.1:EAX). */
  if (family == 6 || family == 15)
    model |= ((eax >> 16) & 0xf) << 4;
  if (family == 15)
    family += (eax >> 20) & 0xff;
  n = snprintf(buf, len, "%.12s family %u model %u stepping %u levels 0x%x", cpu->vendor, (unsigned)family,
               (unsigned)model, (unsigned)stepping, x86_64_levels(cpu));
  return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
