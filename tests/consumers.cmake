# Builds the programs in examples/ the way a user outside the project would:
# the compiler driver alone, the public headers and the built library, nothing
# else; then runs them.
#   cmake -DCC=.. -DCXX=.. -DFLAGS=.. -DINCLUDE=.. -DLIBDIR=.. -DEXAMPLES=.. -DOUT=.. -P consumers.cmake
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
set(common -Wall -Wextra -Werror ${flags} -I${INCLUDE} -L${LIBDIR} -lntcopy -Wl,-rpath,${LIBDIR})
function(build_example)
  execute_process(COMMAND ${ARGN} ${common} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed to build: ${ARGN}")
  endif()
endfunction()
# A sanitized libntcopy needs the C++ parts of clang's sanitizer runtime,
# which clang links for C++ programs only.
set(c_runtime "")
if(FLAGS MATCHES "-fsanitize" AND CC MATCHES "clang")
  set(c_runtime -fsanitize-link-c++-runtime -lstdc++)
endif()
build_example(${CC} -std=c99 -pedantic ${c_runtime} ${EXAMPLES}/fill_pages.c -o ${OUT}/fill_pages_c)
build_example(${CXX} -std=c++20 ${EXAMPLES}/fill_pages.cpp -o ${OUT}/fill_pages_cpp)
foreach(program fill_pages_c fill_pages_cpp)
  execute_process(COMMAND ${OUT}/${program} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${program} exited with ${status}")
  endif()
endforeach()
