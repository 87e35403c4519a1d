# FindCriterion - the Criterion unit-test framework (Debian: libcriterion-dev).
# Defines Criterion::Criterion and Criterion_FOUND.
find_path(Criterion_INCLUDE_DIR criterion/criterion.h)
find_library(Criterion_LIBRARY NAMES criterion)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Criterion
  REQUIRED_VARS Criterion_LIBRARY Criterion_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install the Debian package libcriterion-dev")
if(Criterion_FOUND AND NOT TARGET Criterion::Criterion)
  add_library(Criterion::Criterion UNKNOWN IMPORTED)
  set_target_properties(Criterion::Criterion PROPERTIES
    IMPORTED_LOCATION "${Criterion_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Criterion_INCLUDE_DIR}")
endif()
mark_as_advanced(Criterion_INCLUDE_DIR Criterion_LIBRARY)
