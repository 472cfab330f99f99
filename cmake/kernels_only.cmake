# AUTOGLM_KERNELS_ONLY: core + CPU kernels + their unit tests, with no dependency beyond the
# C++ toolchain (the aarch64 cross build, scripts/test_arm.sh). Included from the top level.
add_subdirectory(src/core)
add_subdirectory(src/backends/cpu)
if(AUTOGLM_BUILD_TESTS)
  enable_testing()
  # The build machine's libgtest is built for the build machine: compile Debian's googletest
  # source (package googletest) for the target instead.
  set(AUTOGLM_GTEST_SOURCE /usr/src/googletest CACHE PATH "googletest source tree")
  if(NOT EXISTS ${AUTOGLM_GTEST_SOURCE}/CMakeLists.txt)
    message(FATAL_ERROR "No googletest source in ${AUTOGLM_GTEST_SOURCE}: apt-get install "
                        "googletest, or pass -DAUTOGLM_GTEST_SOURCE=<path to googletest>")
  endif()
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(${AUTOGLM_GTEST_SOURCE} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  target_compile_options(gtest PRIVATE -w)  # third-party code: our -Werror is not its business
  target_compile_options(gtest_main PRIVATE -w)
  add_subdirectory(tests)
endif()
