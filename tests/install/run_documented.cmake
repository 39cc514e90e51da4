# Runs the commands README.md gives for installing ntcopy and building the
# examples against it (the block marked <!-- run: install -->) as written, with
# two differences: /tmp/x becomes PREFIX, and they run in WORK, which holds a
# copy of the repository's examples/ and a link `build` to this build tree.
# This build's compilers and flags reach the example builds through CC, CXX,
# CFLAGS, CXXFLAGS, LDFLAGS and LDLIBS, which make and a fresh CMake
# configuration take from the environment.
#   cmake -DDOC_CHECK=.. -DSOURCE_DIR=.. -DBUILD_DIR=.. -DWORK=.. -DPREFIX=..
#         -DLIBDIR=.. -DCC=.. -DCXX=.. -DC_FLAGS=.. -DCXX_FLAGS=.. -P run_documented.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK} ${PREFIX})
file(MAKE_DIRECTORY ${WORK})
file(COPY ${SOURCE_DIR}/examples DESTINATION ${WORK} FILES_MATCHING
  PATTERN "*.c" PATTERN "*.cpp" PATTERN "*.h" PATTERN "Makefile" PATTERN "CMakeLists.txt"
  PATTERN "build" EXCLUDE)
file(CREATE_LINK ${BUILD_DIR} ${WORK}/build SYMBOLIC)

execute_process(COMMAND ${DOC_CHECK} ${SOURCE_DIR} --extract run:install
  OUTPUT_VARIABLE script RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "README.md or docs/ lost the block marked <!-- run: install -->")
endif()
# Through a placeholder: PREFIX itself may lie under /tmp/x (a checkout there).
string(REPLACE "/tmp/x/lib/" "@NTCOPY_PREFIX@/${LIBDIR}/" script "${script}")
string(REPLACE "/tmp/x" "@NTCOPY_PREFIX@" script "${script}")
string(REPLACE "@NTCOPY_PREFIX@" "${PREFIX}" script "${script}")
file(WRITE ${WORK}/install.sh "${script}")

# An example linked against a sanitized libntcopy needs the sanitizer runtime;
# a C program built by clang also needs the C++ parts of it explicitly.
set(ldlibs "")
if(CXX_FLAGS MATCHES "-fsanitize" AND CC MATCHES "clang")
  set(ldlibs "-fsanitize-link-c++-runtime -lstdc++")
endif()
cmake_path(GET CMAKE_COMMAND PARENT_PATH cmake_bin)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env
    "PATH=${cmake_bin}:$ENV{PATH}" --unset=PKG_CONFIG_PATH --unset=CMAKE_PREFIX_PATH
    "CC=${CC}" "CXX=${CXX}"
    "CFLAGS=-O2 -Wall -Wextra -Werror -pedantic ${C_FLAGS}"
    "CXXFLAGS=-O2 -Wall -Wextra -Werror ${CXX_FLAGS}"
    "LDFLAGS=" "LDLIBS=${ldlibs}"
    sh -e -x install.sh
  WORKING_DIRECTORY ${WORK}
  OUTPUT_VARIABLE out ECHO_OUTPUT_VARIABLE
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the documented commands failed (exit ${status}); they were:\n${script}")
endif()
# Each program the block is meant to run did run, to its last line.
foreach(expected "ntcopy-info " "fill_pages (C):" "api_tour: every call" "fill_pages (C++):")
  string(FIND "${out}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the documented commands ran, but nothing printed \"${expected}\"")
  endif()
endforeach()
