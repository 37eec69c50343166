# Install rules and package files, included from the top-level CMakeLists.txt when RANKPOOL_INSTALL
# is ON (the default at top level). `cmake --install <build> [--prefix P]` installs:
#   include/rankpool/**            the public headers and the generated version.hpp
#   lib/librankpool.a              the library (lib/ is GNUInstallDirs' CMAKE_INSTALL_LIBDIR)
#   lib/cmake/rankpool/            rankpoolConfig.cmake, its version file, the rankpool:: targets
#   lib/pkgconfig/rankpool.pc      for pkg-config
#   bin/                           the apps (their own install rules, in apps/)
# The build tree is exported too: find_package(rankpool) with rankpool_DIR=<build> uses the build.
include(CMakePackageConfigHelpers)

set(RANKPOOL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rankpool"
    CACHE STRING "Where rankpoolConfig.cmake is installed, relative to the prefix")
mark_as_advanced(RANKPOOL_INSTALL_CMAKEDIR)

install(TARGETS rankpool EXPORT rankpoolTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/rankpool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/generated/rankpool/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rankpool)

# ---- CMake package: find_package(rankpool) gives rankpool::rankpool ---------------------------
install(EXPORT rankpoolTargets NAMESPACE rankpool:: DESTINATION ${RANKPOOL_INSTALL_CMAKEDIR})
export(EXPORT rankpoolTargets NAMESPACE rankpool:: FILE ${PROJECT_BINARY_DIR}/rankpoolTargets.cmake)
# One config file serves both trees: it only finds the dependencies and includes the targets file
# that lies next to it.
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rankpoolConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/rankpoolConfig.cmake
                              INSTALL_DESTINATION ${RANKPOOL_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rankpoolConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rankpoolConfig.cmake
              ${PROJECT_BINARY_DIR}/rankpoolConfigVersion.cmake
        DESTINATION ${RANKPOOL_INSTALL_CMAKEDIR})

# ---- pkg-config: rankpool.pc ----------------------------------------------------------------
# Paths are relative to the .pc file (${pcfiledir}), so `cmake --install --prefix` and moving the
# installed tree keep it valid.
function(rankpool_pc_path out path)
  if(IS_ABSOLUTE "${path}")
    set(${out} "${path}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${path}" PARENT_SCOPE)
  endif()
endfunction()

if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(RANKPOOL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _rankpool_up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" _rankpool_up "${_rankpool_up}")
  set(RANKPOOL_PC_PREFIX "\${pcfiledir}/${_rankpool_up}")
endif()
rankpool_pc_path(RANKPOOL_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
rankpool_pc_path(RANKPOOL_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")

# MPI: the pkg-config module of the MPI that FindMPI found, when one describes that same
# installation (Open MPI's ompi-cxx, MPICH's mpich); otherwise FindMPI's own flags.
set(RANKPOOL_PC_REQUIRES "")
set(RANKPOOL_PC_CFLAGS "")
set(RANKPOOL_PC_LIBS "")
find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf)
if(PKG_CONFIG_EXECUTABLE AND MPI_mpi_LIBRARY)
  get_filename_component(_rankpool_mpi_libdir "${MPI_mpi_LIBRARY}" DIRECTORY)
  foreach(module IN ITEMS ompi-cxx mpich)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=libdir ${module}
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _libdir OUTPUT_STRIP_TRAILING_WHITESPACE
                    ERROR_QUIET)
    if(_rc EQUAL 0 AND _libdir STREQUAL _rankpool_mpi_libdir)
      set(RANKPOOL_PC_REQUIRES "${module}")
      break()
    endif()
  endforeach()
endif()
if(NOT RANKPOOL_PC_REQUIRES)
  foreach(dir IN LISTS MPI_CXX_INCLUDE_DIRS)
    string(APPEND RANKPOOL_PC_CFLAGS " -I${dir}")
  endforeach()
  foreach(def IN LISTS MPI_CXX_COMPILE_DEFINITIONS)
    string(APPEND RANKPOOL_PC_CFLAGS " -D${def}")
  endforeach()
  list(JOIN MPI_CXX_COMPILE_OPTIONS " " _opts)
  list(JOIN MPI_CXX_LINK_FLAGS " " _link_flags)
  list(JOIN MPI_CXX_LIBRARIES " " _libs)
  string(APPEND RANKPOOL_PC_CFLAGS " ${_opts}")
  string(APPEND RANKPOOL_PC_LIBS " ${_link_flags} ${_libs}")
endif()

# cereal has no .pc file: its include directory, unless the compiler searches it anyway.
get_target_property(_cereal_includes cereal::cereal INTERFACE_INCLUDE_DIRECTORIES)
foreach(dir IN LISTS _cereal_includes)
  if(dir AND NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND RANKPOOL_PC_CFLAGS " -I${dir}")
  endif()
endforeach()

# The library's private links: a static librankpool needs them on the consumer's link line
# (Requires, Libs); a shared one brings them itself (Requires.private, Libs.private).
set(_rankpool_private_requires "")
if(TARGET PkgConfig::hwloc)
  set(_rankpool_private_requires "hwloc >= 2")
endif()
set(_rankpool_deps "-pthread")
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND _rankpool_deps " -l${lib}")
endforeach()
get_target_property(_rankpool_type rankpool TYPE)
if(_rankpool_type STREQUAL "STATIC_LIBRARY")
  if(_rankpool_private_requires)
    string(JOIN ", " RANKPOOL_PC_REQUIRES ${RANKPOOL_PC_REQUIRES} ${_rankpool_private_requires})
  endif()
  string(APPEND RANKPOOL_PC_LIBS " ${_rankpool_deps}")
  set(RANKPOOL_PC_REQUIRES_PRIVATE "")
  set(RANKPOOL_PC_LIBS_PRIVATE "")
else()
  set(RANKPOOL_PC_REQUIRES_PRIVATE "${_rankpool_private_requires}")
  set(RANKPOOL_PC_LIBS_PRIVATE "${_rankpool_deps}")
endif()
string(STRIP "${RANKPOOL_PC_CFLAGS}" RANKPOOL_PC_CFLAGS)
string(STRIP "${RANKPOOL_PC_LIBS}" RANKPOOL_PC_LIBS)
string(REGEX REPLACE " +" " " RANKPOOL_PC_CFLAGS "${RANKPOOL_PC_CFLAGS}")
string(REGEX REPLACE " +" " " RANKPOOL_PC_LIBS "${RANKPOOL_PC_LIBS}")

configure_file(${PROJECT_SOURCE_DIR}/cmake/rankpool.pc.in ${PROJECT_BINARY_DIR}/rankpool.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/rankpool.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
