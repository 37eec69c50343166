# cmake -DAPP=<executable> -DNAME=<app name> -DVERSION=<PROJECT_VERSION> -P check_app_version.cmake
# Runs `APP --version` without mpirun: it must exit 0 and print exactly "NAME VERSION".
foreach(var APP NAME VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_app_version.cmake: -D${var}=... is missing")
  endif()
endforeach()
execute_process(COMMAND ${APP} --version RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME} --version exited with ${rc}\nstdout: ${out}\nstderr: ${err}")
endif()
if(NOT out STREQUAL "${NAME} ${VERSION}\n")
  message(FATAL_ERROR "${NAME} --version printed '${out}', expected '${NAME} ${VERSION}'")
endif()
message(STATUS "${NAME} --version: ${out}")
