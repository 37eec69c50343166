# jobs/plot_scaling.py must turn the CSV into a PNG (checked by its signature), and refuse a
# file that is not a scaling CSV with exit 2.
file(REMOVE ${PNG})
execute_process(COMMAND ${PYTHON} ${SCRIPT} ${CSV} -o ${PNG} --note "ctest" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "plot_scaling.py failed: ${rc}")
endif()
file(READ ${PNG} magic LIMIT 4 HEX)
if(NOT magic STREQUAL "89504e47")
  message(FATAL_ERROR "${PNG} is not a PNG (starts ${magic})")
endif()
execute_process(COMMAND ${PYTHON} ${SCRIPT} ${SCRIPT} -o ${PNG}.bad RESULT_VARIABLE rc
                ERROR_VARIABLE err)
string(FIND "${err}" "lacks the columns" found)
if(NOT rc EQUAL 2 OR found EQUAL -1)
  message(FATAL_ERROR "plot_scaling.py on a non-CSV: exit ${rc}, ${err}")
endif()
