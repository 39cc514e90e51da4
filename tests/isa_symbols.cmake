# Fails when a kernel family's object file defines a global or weak function
# outside that family's namespace. Such a function (an inline helper from a
# shared header, say) could be the copy the linker keeps for every caller,
# compiled with -mavx512f, and run on a CPU without AVX-512.
#   cmake -DNM=<nm> -DOBJECTS=<objects;...> [-DUNOPTIMISED=ON] -P isa_symbols.cmake
# UNOPTIMISED: the objects were compiled at -O0, where library templates are
# emitted as weak functions instead of inlined. Two kinds are then allowed:
# - xsimd's, instantiated for the family's own architecture tag: no other
#   family's object defines the same symbol;
# - the two helpers that std::atomic's load calls, and clang's
#   __clang_call_terminate (which calls std::terminate): the same in every
#   family's object, with no vector instruction.
set(families_checked 0)
set(symbols_checked 0)
foreach(object IN LISTS OBJECTS)
  get_filename_component(file "${object}" NAME)
  if(NOT file MATCHES "^(avx512|avx|movnti|generic)\\.cpp\\.o(bj)?$")
    continue()
  endif()
  set(family "${CMAKE_MATCH_1}")
  set(own_xsimd_arch "")
  if(family STREQUAL "avx512")
    set(own_xsimd_arch "avx512f")
  elseif(family STREQUAL "avx")
    set(own_xsimd_arch "avx")
  elseif(family STREQUAL "movnti")
    set(own_xsimd_arch "sse2")
  endif()
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
      set(allowed FALSE)
      if(symbol MATCHES "^ntcopy::${family}::")
        set(allowed TRUE)
      elseif(UNOPTIMISED)
        # Every xsimd name in the symbol that ends a template argument (an
        # architecture tag) must be the family's own.
        string(REGEX MATCHALL "xsimd::[a-z0-9_]+[,> )]" tags "${symbol}")
        set(own_tags_only FALSE)
        if(own_xsimd_arch AND tags)
          set(own_tags_only TRUE)
          foreach(tag IN LISTS tags)
            if(NOT tag MATCHES "^xsimd::${own_xsimd_arch}[,> )]$")
              set(own_tags_only FALSE)
            endif()
          endforeach()
        endif()
        if(own_tags_only)
          set(allowed TRUE)
        elseif(symbol STREQUAL "std::__is_constant_evaluated()" OR
               symbol MATCHES "^std::operator&\\(std::memory_order, std::__memory_order_modifier\\)$" OR
               symbol STREQUAL "__clang_call_terminate")
          set(allowed TRUE)
        endif()
      endif()
      if(NOT allowed)
        message(SEND_ERROR "${file} defines '${symbol}' outside namespace ntcopy::${family}")
      endif()
    endif()
  endforeach()
endforeach()
if(families_checked EQUAL 0)
  message(FATAL_ERROR "no kernel family object among: ${OBJECTS}")
endif()
message(STATUS "${families_checked} family objects, ${symbols_checked} global or weak functions checked")
