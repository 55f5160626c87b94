# Runs one documentation block's program in a fresh, empty directory, so a
# block that creates "crm.cdp" never finds the file of an earlier run.
#   cmake -DPROGRAM=<exe> -DDIR=<dir> -P run_block.cmake
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
execute_process(COMMAND "${PROGRAM}" WORKING_DIRECTORY "${DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}")
endif()
