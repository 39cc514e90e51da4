# valgrind 3.19 emulates AVX and AVX2 but not AVX-512, and its CPUID says so.
# Runs ntcopy_env_child under memcheck and checks what the library made of it:
#   MODE=auto    NTCOPY_KERNEL unset: the library selects avx, says nothing
#   MODE=avx512  NTCOPY_KERNEL=avx512: refused with exactly one line on stderr
#                naming the variable and the value; avx used; exit 0 (no SIGILL)
# In both, the child's own fills and copies are correct and memcheck finds no
# error. The host's own choice (natively) is printed for comparison; a host
# without AVX reports the test as skipped.
#   cmake -DMEMCHECK=<valgrind;args> -DCHILD=<ntcopy_env_child> -DMODE=auto|avx512 -P kernel_choice.cmake

# Runs the child (under memcheck when `wrapper` is MEMCHECK) with the library's
# variables unset, then `assignments`; sets <prefix>_rc, _out, _err, _kernel, _fill.
function(run_child prefix wrapper)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env --unset=NTCOPY_KERNEL --unset=NTCOPY_NT_THRESHOLD
            --unset=NTCOPY_CPU_MASK ${ARGN} ${wrapper} ${CHILD}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  set(kernel "")
  set(fill "")
  if(out MATCHES "(^|\n)kernel=([^\n]*)")
    set(kernel "${CMAKE_MATCH_2}")
  endif()
  if(out MATCHES "(^|\n)fill=([^\n]*)")
    set(fill "${CMAKE_MATCH_2}")
  endif()
  set(${prefix}_rc "${rc}" PARENT_SCOPE)
  set(${prefix}_out "${out}" PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
  set(${prefix}_kernel "${kernel}" PARENT_SCOPE)
  set(${prefix}_fill "${fill}" PARENT_SCOPE)
endfunction()

if(NOT MODE MATCHES "^(auto|avx512)$")
  message(FATAL_ERROR "MODE must be auto or avx512, not '${MODE}'")
endif()

run_child(host "")
if(NOT host_rc STREQUAL "0" OR NOT host_fill STREQUAL "ok")
  message(FATAL_ERROR "ntcopy_env_child failed natively (${host_rc}):\n${host_out}${host_err}")
endif()
run_child(host_avx "" NTCOPY_KERNEL=avx)
if(NOT host_avx_kernel STREQUAL "avx")
  message(STATUS "skipped: the kernel choice under valgrind (this CPU has no AVX, so valgrind "
                 "cannot offer it either)")
  return()
endif()

if(MODE STREQUAL "auto")
  run_child(vg "${MEMCHECK}")
else()
  run_child(vg "${MEMCHECK}" NTCOPY_KERNEL=avx512)
endif()
set(report "natively: kernel=${host_kernel}; under valgrind: exit ${vg_rc}\n"
           "stdout:\n${vg_out}stderr:\n${vg_err}")
string(REPLACE ";" "" report "${report}")

if(NOT vg_rc STREQUAL "0")
  message(FATAL_ERROR "under valgrind the child did not exit 0 (memcheck error, SIGILL?)\n${report}")
endif()
if(NOT vg_fill STREQUAL "ok")
  message(FATAL_ERROR "under valgrind the child's fills and copies were wrong\n${report}")
endif()
if(NOT vg_kernel STREQUAL "avx")
  message(FATAL_ERROR "under valgrind the library chose '${vg_kernel}', expected avx\n${report}")
endif()
# Lines on stderr: its newlines, plus an unterminated last line.
string(REGEX REPLACE "[^\n]" "" newlines "${vg_err}")
string(LENGTH "${newlines}" n_lines)
if(NOT vg_err STREQUAL "" AND NOT vg_err MATCHES "\n$")
  math(EXPR n_lines "${n_lines} + 1")
endif()
if(MODE STREQUAL "auto")
  if(NOT n_lines EQUAL 0)
    message(FATAL_ERROR "under valgrind, with no NTCOPY_KERNEL, stderr is not empty\n${report}")
  endif()
else()
  if(NOT n_lines EQUAL 1)
    message(FATAL_ERROR "NTCOPY_KERNEL=avx512 under valgrind: ${n_lines} lines on stderr, "
                        "expected exactly one warning\n${report}")
  endif()
  if(NOT vg_err MATCHES "NTCOPY_KERNEL" OR NOT vg_err MATCHES "avx512" OR NOT vg_err MATCHES "\n$")
    message(FATAL_ERROR "the warning does not name NTCOPY_KERNEL and avx512\n${report}")
  endif()
endif()
message(STATUS "natively: kernel=${host_kernel}; under valgrind (MODE=${MODE}): kernel=avx, "
               "fill=ok, exit 0, stderr: ${vg_err}")
