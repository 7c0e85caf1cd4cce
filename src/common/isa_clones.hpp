#pragma once
// SWINSMT_ISA_CLONES: compile a hot loop once per instruction set and pick the clone at load time.
// The libraries are built for the baseline x86-64 (they run on any x86-64 CPU) but mostly run where
// AVX2 or AVX-512 are available; without clones their vectorised loops would use SSE2 only.
// Used by the fused CPU kernels (kernels/) and the aggregation's cell passes (pipeline/).

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SWINSMT_NO_TARGET_CLONES)
#define SWINSMT_ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SWINSMT_ISA_CLONES
#endif
