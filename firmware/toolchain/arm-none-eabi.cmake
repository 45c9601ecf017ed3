# CMake toolchain file for bare-metal Arm Cortex-M with the GNU Arm Embedded toolchain.
#
#   cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=firmware/toolchain/arm-none-eabi.cmake \
#         -DEDGEQ_MCPU=cortex-m4 -DEDGEQ_MFPU=fpv4-sp-d16 -DEDGEQ_MFLOAT_ABI=hard
#
# EDGEQ_MCPU       -mcpu value (cortex-m0, cortex-m3, cortex-m4, cortex-m7, cortex-m33, cortex-m55, ...)
# EDGEQ_MFPU       -mfpu value, or "auto"/"" to leave it out (e.g. no FPU, or implied by -mcpu)
# EDGEQ_MFLOAT_ABI soft | softfp | hard
# EDGEQ_TOOLCHAIN_PREFIX  default arm-none-eabi-
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(EDGEQ_TOOLCHAIN_PREFIX "arm-none-eabi-" CACHE STRING "cross toolchain prefix")
set(EDGEQ_MCPU "cortex-m4" CACHE STRING "target CPU (-mcpu)")
set(EDGEQ_MFPU "fpv4-sp-d16" CACHE STRING "FPU (-mfpu); empty or 'auto' to omit")
set(EDGEQ_MFLOAT_ABI "hard" CACHE STRING "float ABI (-mfloat-abi)")

set(CMAKE_C_COMPILER ${EDGEQ_TOOLCHAIN_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${EDGEQ_TOOLCHAIN_PREFIX}g++)
set(CMAKE_ASM_COMPILER ${EDGEQ_TOOLCHAIN_PREFIX}gcc)
set(CMAKE_OBJCOPY ${EDGEQ_TOOLCHAIN_PREFIX}objcopy CACHE FILEPATH "objcopy")
set(CMAKE_SIZE ${EDGEQ_TOOLCHAIN_PREFIX}size CACHE FILEPATH "size")

# try_compile must not try to link a hosted program
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(_edgeq_cpu_flags "-mcpu=${EDGEQ_MCPU} -mthumb")
if(EDGEQ_MFPU AND NOT EDGEQ_MFPU STREQUAL "auto")
  string(APPEND _edgeq_cpu_flags " -mfpu=${EDGEQ_MFPU}")
endif()
if(EDGEQ_MFLOAT_ABI)
  string(APPEND _edgeq_cpu_flags " -mfloat-abi=${EDGEQ_MFLOAT_ABI}")
endif()
set(CMAKE_C_FLAGS_INIT "${_edgeq_cpu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${_edgeq_cpu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_edgeq_cpu_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_edgeq_cpu_flags} -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
