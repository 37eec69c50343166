# rankpool_add_mpi_test(NAME <name> TARGET <target> RANKS <n>... [LABELS <label>...] [TIMEOUT <s>])
# Registers one ctest per rank count, named <name>.<n>ranks, run under mpiexec with
# --oversubscribe (more ranks than cores is how we test logic on small machines) and a timeout so
# that a deadlock fails fast instead of hanging CI.
function(rankpool_add_mpi_test)
  cmake_parse_arguments(ARG "" "NAME;TARGET;TIMEOUT" "RANKS;LABELS;ARGS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  foreach(n IN LISTS ARG_RANKS)
    set(test_name ${ARG_NAME}.${n}ranks)
    add_test(NAME ${test_name}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} --oversubscribe
                     ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${ARG_TARGET}> ${MPIEXEC_POSTFLAGS} ${ARG_ARGS})
    set_tests_properties(${test_name} PROPERTIES
      TIMEOUT ${ARG_TIMEOUT}
      LABELS "mpi;${ARG_LABELS}"
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
  endforeach()
endfunction()
