# FindDNNL - oneDNN's C API (Debian: libdnnl-dev), the benchmarks' peer.
# Defines DNNL::dnnl, DNNL_FOUND and DNNL_VERSION.
#
# Not dnnl's own CMake package: that one requires OpenCL's development files
# (a Recommends of libdnnl-dev, absent under --no-install-recommends) and
# stops the whole configure with a hard error when they are missing. The C API
# the peer uses needs only the header and the library.
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
find_library(DNNL_LIBRARY NAMES dnnl PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE})
if(DNNL_INCLUDE_DIR AND EXISTS "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h")
  file(STRINGS "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h" _dnnl_version_lines
       REGEX "#define DNNL_VERSION_(MAJOR|MINOR|PATCH) ")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "DNNL_VERSION_${_part} ([0-9]+)" _m "${_dnnl_version_lines}")
    set(_dnnl_${_part} "${CMAKE_MATCH_1}")
  endforeach()
  set(DNNL_VERSION "${_dnnl_MAJOR}.${_dnnl_MINOR}.${_dnnl_PATCH}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DNNL
  REQUIRED_VARS DNNL_LIBRARY DNNL_INCLUDE_DIR
  VERSION_VAR DNNL_VERSION
  REASON_FAILURE_MESSAGE "install the Debian package libdnnl-dev")
if(DNNL_FOUND AND NOT TARGET DNNL::dnnl)
  add_library(DNNL::dnnl UNKNOWN IMPORTED)
  set_target_properties(DNNL::dnnl PROPERTIES
    IMPORTED_LOCATION "${DNNL_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
endif()
mark_as_advanced(DNNL_INCLUDE_DIR DNNL_LIBRARY)
