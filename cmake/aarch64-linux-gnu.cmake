# Cross-compiling ntcopy for 64-bit Arm Linux on Debian (see .ci/aarch64 and
# docs/reliability.md, "aarch64"):
#   cmake -S . -B build-aarch64 --toolchain cmake/aarch64-linux-gnu.cmake -DNTCOPY_BUILD_BENCHMARKS=OFF
# Compilers from g++-aarch64-linux-gnu; the dependencies are Debian's arm64
# packages (dpkg --add-architecture arm64; libcpu-features-dev:arm64,
# libxsimd-dev:arm64; doctest-dev is architecture-independent), installed side
# by side with the native ones under /usr/lib/aarch64-linux-gnu. Programs run
# through qemu-user with the cross C library (/usr/aarch64-linux-gnu): ctest,
# and doctest's test discovery at build time, use CMAKE_CROSSCOMPILING_EMULATOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(NTCOPY_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${NTCOPY_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${NTCOPY_CROSS_TRIPLE}-g++)
# Debian multiarch: find_package and find_library look in
# /usr/lib/aarch64-linux-gnu (and never in /usr/lib/x86_64-linux-gnu).
set(CMAKE_LIBRARY_ARCHITECTURE ${NTCOPY_CROSS_TRIPLE})
set(NTCOPY_CROSS_SYSROOT /usr/${NTCOPY_CROSS_TRIPLE})

find_program(NTCOPY_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(NTCOPY_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NTCOPY_QEMU_AARCH64} -L ${NTCOPY_CROSS_SYSROOT})
endif()
