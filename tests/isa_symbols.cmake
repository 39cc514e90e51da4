# Fails when a kernel family's object file defines a global or weak function
# outside that family's namespace. Such a function (an inline helper from a
# shared header, say) could be the copy the linker keeps for every caller,
# compiled with -mavx512f, and run on a CPU without AVX-512.
#   cmake -DNM=<nm> -DOBJECTS=<objects;...> -P isa_symbols.cmake
set(families_checked 0)
set(symbols_checked 0)
foreach(object IN LISTS OBJECTS)
  get_filename_component(file "${object}" NAME)
  if(NOT file MATCHES "^(avx512|avx|movnti|generic)\\.cpp\\.o(bj)?$")
    continue()
  endif()
  set(family "${CMAKE_MATCH_1}")
  math(EXPR families_checked "${families_checked} + 1")
  execute_process(COMMAND "${NM}" -C --defined-only "${object}"
                  OUTPUT_VARIABLE listing RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${object}")
  endif()
  string(REPLACE "\n" ";" lines "${listing}")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[0-9a-fA-F]+ [TWi] (.*)$")
      set(symbol "${CMAKE_MATCH_1}")
      math(EXPR symbols_checked "${symbols_checked} + 1")
      if(NOT symbol MATCHES "^ntcopy::${family}::")
        message(SEND_ERROR "${file} defines '${symbol}' outside namespace ntcopy::${family}")
      endif()
    endif()
  endforeach()
endforeach()
if(families_checked EQUAL 0)
  message(FATAL_ERROR "no kernel family object among: ${OBJECTS}")
endif()
message(STATUS "${families_checked} family objects, ${symbols_checked} global or weak functions checked")
