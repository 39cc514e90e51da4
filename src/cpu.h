// All CPU probing happens here; the rest of ntcopy sees a CpuFeatures.
#ifndef NTCOPY_SRC_CPU_H
#define NTCOPY_SRC_CPU_H

#include "select.h"

namespace ntcopy {
// The running CPU, through cpu_features (CPUID plus the OS-enabled register
// state in XCR0). Never uses xsimd's own detection, which skips XCR0.
CpuFeatures probe_cpu();
}  // namespace ntcopy

#endif  // NTCOPY_SRC_CPU_H
