# edgeq_add_upstream_cmsis_nn(DIR): target edgeq_nn built from an upstream CMSIS-NN checkout
# instead of edgeq's kernels. Included by edgeq's top-level CMakeLists.txt and, as
# edgeq_kernels/upstream_cmsis_nn.cmake, by every generated model directory's CMakeLists.txt.
#
# What is compiled is what upstream's own CMake compiles: a checkout with its CMakeLists.txt
# (v4 and later: target `cmsis-nn`) is added with add_subdirectory(), so upstream's source
# selection applies — CMSIS-NN main's f16/f32 sources (which need float16_t) stay out, as they do
# upstream unless ARM_NN_ENABLE_F16/F32 is set. Upstream's sources are compiled with this build's
# flags (CMAKE_BUILD_TYPE, the CPU flags of the toolchain file) like edgeq's own kernels, so a
# comparison measures the kernels, not the optimisation level: upstream's own default is -Ofast,
# pass -DCMSIS_OPTIMIZATION_LEVEL=-Ofast to get it. A checkout without a CMakeLists.txt (a bare
# Include/ + Source/ tree) gets the same selection by name: Source/*/*.c without the float
# (_f16, _f32, _flt) sources. Code linking edgeq_nn sees EDGEQ_UPSTREAM_CMSIS_NN=1 (the generated
# code then hands upstream's MVE fully-connected kernels their precomputed kernel sums).

function(edgeq_add_upstream_cmsis_nn dir)
  get_filename_component(dir "${dir}" ABSOLUTE)
  if(NOT EXISTS "${dir}/Include/arm_nnfunctions.h" OR NOT IS_DIRECTORY "${dir}/Source")
    message(FATAL_ERROR "EDGEQ_CMSIS_NN_DIR=${dir} is not a CMSIS-NN checkout "
                        "(no Include/arm_nnfunctions.h and Source/)")
  endif()
  set(_upstream_cmake FALSE)
  if(EXISTS "${dir}/CMakeLists.txt")
    file(READ "${dir}/CMakeLists.txt" _top)
    if(_top MATCHES "add_library\\(cmsis-nn")
      set(_upstream_cmake TRUE)
    endif()
  endif()
  if(_upstream_cmake)
    if(NOT TARGET cmsis-nn)
      if(NOT DEFINED CACHE{CMSIS_OPTIMIZATION_LEVEL})
        set(CMSIS_OPTIMIZATION_LEVEL "" CACHE STRING
            "optimisation flags for upstream CMSIS-NN (empty: the build type's, as edgeq's kernels)")
      endif()
      add_subdirectory("${dir}" "${CMAKE_BINARY_DIR}/upstream-cmsis-nn" EXCLUDE_FROM_ALL)
      # Bit-exactness with the reference needs plain IEEE float evaluation (no fused multiply-add).
      target_compile_options(cmsis-nn PRIVATE -ffp-contract=off)
    endif()
    add_library(edgeq_nn INTERFACE)
    target_link_libraries(edgeq_nn INTERFACE cmsis-nn)
    target_compile_definitions(edgeq_nn INTERFACE EDGEQ_UPSTREAM_CMSIS_NN=1)
  else()
    file(GLOB _sources CONFIGURE_DEPENDS "${dir}/Source/*/*.c")
    list(FILTER _sources EXCLUDE REGEX "_(f16|f32|flt)[_.][^/]*$")
    if(NOT _sources)
      message(FATAL_ERROR "EDGEQ_CMSIS_NN_DIR=${dir}: no Source/*/*.c found")
    endif()
    add_library(edgeq_nn STATIC ${_sources})
    target_include_directories(edgeq_nn PUBLIC "${dir}/Include")
    target_compile_options(edgeq_nn PRIVATE -ffp-contract=off)
    target_compile_definitions(edgeq_nn PUBLIC EDGEQ_UPSTREAM_CMSIS_NN=1)
  endif()
  message(STATUS "edgeq: kernels from upstream CMSIS-NN at ${dir}")
endfunction()
