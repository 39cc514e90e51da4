# Checks what `cmake --install` put under PREFIX.
#   cmake -DPREFIX=.. -DBUILD_DIR=.. -DLIBDIR=.. -DBINDIR=.. -DINCLUDEDIR=.. -DSOURCE_DIR=.. -DVERSION=..
#         -DSONAME=.. -DNM=.. -DREADELF=.. -P check_install.cmake
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/failures.cmake)

# Exactly these files, nothing else.
set(lib ${LIBDIR}/libntcopy.so)
set(cmake_dir ${LIBDIR}/cmake/ntcopy)
set(expected
  ${BINDIR}/ntcopy-info
  ${INCLUDEDIR}/ntcopy/ntcopy.h
  ${INCLUDEDIR}/ntcopy/ntcopy.hpp
  ${lib} ${lib}.0 ${lib}.${VERSION}
  ${cmake_dir}/ntcopyConfig.cmake
  ${cmake_dir}/ntcopyConfigVersion.cmake
  ${cmake_dir}/ntcopyTargets.cmake
  ${LIBDIR}/pkgconfig/ntcopy.pc)
file(GLOB_RECURSE found LIST_DIRECTORIES false RELATIVE ${PREFIX} ${PREFIX}/*)
file(GLOB per_config RELATIVE ${PREFIX} ${PREFIX}/${cmake_dir}/ntcopyTargets-*.cmake)
list(LENGTH per_config n)
if(NOT n EQUAL 1)
  fail("expected one ntcopyTargets-<config>.cmake, found: ${per_config}")
endif()
list(APPEND expected ${per_config})
foreach(f IN LISTS expected)
  if(NOT f IN_LIST found)
    fail("missing: ${f}")
  endif()
endforeach()
foreach(f IN LISTS found)
  if(NOT f IN_LIST expected)
    fail("installed but not expected: ${f}")
  endif()
endforeach()

# The development link and the SONAME link lead to the versioned file.
foreach(pair "libntcopy.so:libntcopy.so.0" "libntcopy.so.0:libntcopy.so.${VERSION}")
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 link)
  list(GET pair 1 target)
  if(NOT IS_SYMLINK ${PREFIX}/${LIBDIR}/${link})
    fail("${LIBDIR}/${link} is not a symbolic link")
  else()
    file(READ_SYMLINK ${PREFIX}/${LIBDIR}/${link} points_to)
    if(NOT points_to STREQUAL target)
      fail("${LIBDIR}/${link} points to ${points_to}, not ${target}")
    endif()
  endif()
endforeach()

# The headers are the source tree's.
foreach(h ntcopy.h ntcopy.hpp)
  file(SHA256 ${SOURCE_DIR}/include/ntcopy/${h} want)
  file(SHA256 ${PREFIX}/${INCLUDEDIR}/ntcopy/${h} got)
  if(NOT want STREQUAL got)
    fail("${INCLUDEDIR}/ntcopy/${h} differs from include/ntcopy/${h}")
  endif()
endforeach()

# Consumers need neither cpu_features nor Threads. The CMake files locate the
# prefix from their own place, so they name no absolute path of this build.
file(GLOB package_files ${PREFIX}/${cmake_dir}/*.cmake ${PREFIX}/${LIBDIR}/pkgconfig/ntcopy.pc)
foreach(f IN LISTS package_files)
  file(READ ${f} text)
  if(text MATCHES "[Cc]pu_?[Ff]eatures|Threads|pthread")
    fail("${f} mentions a private dependency: ${CMAKE_MATCH_0}")
  endif()
  string(FIND "${text}" "${BUILD_DIR}" at)
  if(f MATCHES "[.]cmake$" AND NOT at EQUAL -1)
    fail("${f} names a path of the build tree, so the package is not relocatable")
  endif()
endforeach()
file(READ ${PREFIX}/${LIBDIR}/pkgconfig/ntcopy.pc pc)
if(NOT pc MATCHES "(^|\n)prefix=${PREFIX}\n")
  fail("ntcopy.pc does not name the install prefix ${PREFIX}:\n${pc}")
endif()
if(NOT pc MATCHES "\nVersion: ${VERSION}\n")
  fail("ntcopy.pc does not say Version: ${VERSION}")
endif()

# The library exports the ntc_ functions and nothing else (a symbol version
# node, NTCOPY_<n>, is listed by nm as an absolute symbol; ntc_memcpy on x86-64
# as an indirect function, i).
execute_process(COMMAND ${NM} -D --defined-only ${PREFIX}/${lib}.0
  OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  fail("${NM} -D --defined-only failed")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${symbols}")
set(exported "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-f]+ A NTCOPY_[0-9]+(@@NTCOPY_[0-9]+)?$")
    continue()
  elseif(line MATCHES "^[0-9a-f]+ [TtWwDdBbRri] (ntc_[a-z_]+)(@@NTCOPY_[0-9]+)?$")
    list(APPEND exported ${CMAKE_MATCH_1})
  else()
    fail("exported, but not an ntc_ function: ${line}")
  endif()
endforeach()
file(STRINGS ${SOURCE_DIR}/include/ntcopy/ntcopy.h declarations REGEX "^NTC_API ")
foreach(d IN LISTS declarations)
  if(d MATCHES "[ *](ntc_[a-z_]+)\\(" AND NOT CMAKE_MATCH_1 IN_LIST exported)
    fail("declared in ntcopy.h but not exported: ${CMAKE_MATCH_1}")
  endif()
endforeach()

# SONAME, and no run path into the build tree.
execute_process(COMMAND ${READELF} -d ${PREFIX}/${lib}.${VERSION}
  OUTPUT_VARIABLE dynamic RESULT_VARIABLE status)
if(NOT dynamic MATCHES "\\(SONAME\\)[^\n]*\\[([^]]*)\\]")
  fail("no SONAME in ${lib}.${VERSION}")
elseif(NOT CMAKE_MATCH_1 STREQUAL SONAME)
  fail("SONAME is ${CMAKE_MATCH_1}, not ${SONAME}")
endif()
if(dynamic MATCHES "R(UN)?PATH")
  fail("${lib}.${VERSION} has a run path")
endif()
execute_process(COMMAND ${READELF} -d ${PREFIX}/${BINDIR}/ntcopy-info OUTPUT_VARIABLE dynamic)
if(NOT dynamic MATCHES "R(UN)?PATH\\)[^\n]*\\[\\$ORIGIN/[^]]*\\]")
  fail("ntcopy-info's run path is not relative to \$ORIGIN")
endif()

report_failures("the installed tree under ${PREFIX} is wrong")
list(LENGTH found files)
list(LENGTH exported functions)
message(STATUS "${files} files as expected; ${functions} ntc_ functions exported; SONAME ${SONAME}")
