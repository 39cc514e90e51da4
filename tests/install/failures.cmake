# Collecting failures in the install checks (cmake -P scripts): fail() records
# one, report_failures() ends the script with all of them, if there are any.
set(failures "")
# A function, not a macro: a macro would expand ${...} inside the text again.
function(fail what)
  list(APPEND failures "${what}")
  set(failures "${failures}" PARENT_SCOPE)
endfunction()

function(report_failures heading)
  if(failures)
    list(JOIN failures "\n  " text)
    message(FATAL_ERROR "${heading}:\n  ${text}")
  endif()
endfunction()
