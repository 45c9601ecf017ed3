# The on-device test firmware (serial test harness + board platform + one model).
# Included by the top-level CMakeLists.txt when EDGEQ_BOARD is set (a cross build).
# `edgeq build` (edgeq/build.py) passes every value below from the board's TOML definition;
# CPU/FPU flags arrive in CMAKE_C_FLAGS so that kernels and model share one ABI.
#
#   EDGEQ_BOARD            board name (reported in READY/INFO)
#   EDGEQ_FLASH_ORIGIN/LENGTH, EDGEQ_RAM_ORIGIN/LENGTH   linker regions
#   EDGEQ_STACK_SIZE       bytes reserved for the stack at the top of RAM
#   EDGEQ_CPU_HZ           core clock
#   EDGEQ_UART_FAMILY      cmsdk | stm32 | stm32v2 | nrf | pl011 | sercom | lpuart
#   EDGEQ_UART_BASE, EDGEQ_UART_BAUD, EDGEQ_UART_CLOCK_HZ
#   EDGEQ_HAS_DWT, EDGEQ_HAS_VTOR, EDGEQ_EMULATED   0/1
#   EDGEQ_BOARD_DEFINES    NAME=VALUE list appended to edgeq_board.h as #defines (pins, clocks)
#   EDGEQ_BOARD_SOURCES    extra board bring-up sources (absolute paths)
#   (model)                the top-level's `edgeq_model` target if EDGEQ_MODEL_DIR was given,
#                          else the fake model in firmware/test_model/
#   EDGEQ_MODEL_SYMBOL     the model's `NAME_model` symbol
#   EDGEQ_FIRMWARE_LINK_LIBS    extra libraries (e.g. the kernel library target)

set(EDGEQ_FW_DIR ${CMAKE_CURRENT_LIST_DIR})

set(EDGEQ_STACK_SIZE "8192" CACHE STRING "firmware stack bytes")
set(EDGEQ_UART_BAUD "115200" CACHE STRING "UART baud rate")
set(EDGEQ_HAS_DWT "0" CACHE STRING "core has DWT CYCCNT")
set(EDGEQ_HAS_VTOR "1" CACHE STRING "core has SCB->VTOR")
set(EDGEQ_EMULATED "0" CACHE STRING "board is a QEMU machine (semihosting exit)")
# A generated model directory brings its own CMake target (edgeq_model, added by the top-level
# CMakeLists.txt); without one, the hand-written fake model in test_model/ is compiled in.
if(TARGET edgeq_model)
  set(EDGEQ_FW_MODEL_SOURCES "")
  set(EDGEQ_FW_MODEL_INCLUDE "")
else()
  set(EDGEQ_FW_MODEL_INCLUDE ${EDGEQ_FW_DIR}/test_model)
  file(GLOB EDGEQ_FW_MODEL_SOURCES CONFIGURE_DEPENDS ${EDGEQ_FW_MODEL_INCLUDE}/*.c)
  if(NOT EDGEQ_MODEL_SYMBOL)
    set(EDGEQ_MODEL_SYMBOL fake_model)
  endif()
endif()
if(NOT EDGEQ_MODEL_SYMBOL)
  message(FATAL_ERROR "edgeq firmware: EDGEQ_MODEL_SYMBOL (the model's `NAME_model`) is not set")
endif()
if(NOT DEFINED EDGEQ_UART_CLOCK_HZ OR EDGEQ_UART_CLOCK_HZ STREQUAL "")
  set(EDGEQ_UART_CLOCK_HZ ${EDGEQ_CPU_HZ})
endif()

foreach(var EDGEQ_BOARD EDGEQ_FLASH_ORIGIN EDGEQ_FLASH_LENGTH EDGEQ_RAM_ORIGIN EDGEQ_RAM_LENGTH
            EDGEQ_CPU_HZ EDGEQ_UART_FAMILY EDGEQ_UART_BASE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "edgeq firmware: ${var} is not set (use `edgeq build --board ...`)")
  endif()
endforeach()

set(EDGEQ_BOARD_EXTRA_DEFINES "")
foreach(def IN LISTS EDGEQ_BOARD_DEFINES)
  string(REGEX REPLACE "^([A-Za-z_][A-Za-z0-9_]*)=(.*)$" "#define \\1 \\2" line "${def}")
  string(APPEND EDGEQ_BOARD_EXTRA_DEFINES "${line}\n")
endforeach()
# Memory banks (edgeq.placement): the board's regions besides the default flash and RAM, as
# NAME:ORIGIN:LENGTH lists; each gets a MEMORY line and an output section for the arrays the
# generated code puts in .edgeq.ram.NAME / .edgeq.rom.NAME. The default regions' such sections
# join .bss / .text (EDGEQ_RAM_NAME / EDGEQ_FLASH_NAME).
if(NOT EDGEQ_RAM_NAME)
  set(EDGEQ_RAM_NAME ram)
endif()
if(NOT EDGEQ_FLASH_NAME)
  set(EDGEQ_FLASH_NAME flash)
endif()
set(EDGEQ_LD_MEMORY "")
set(EDGEQ_LD_SECTIONS "")
foreach(kind RAM ROM)
  foreach(region IN LISTS EDGEQ_EXTRA_${kind})
    string(REPLACE ":" ";" fields "${region}")
    list(GET fields 0 rname)
    list(GET fields 1 rorigin)
    list(GET fields 2 rlength)
    string(TOLOWER ${kind} lkind)
    if(kind STREQUAL "RAM")
      set(attrs rwx)
      set(load " (NOLOAD)")
    else()
      set(attrs rx)
      set(load "")
    endif()
    string(APPEND EDGEQ_LD_MEMORY "    EDGEQ_${rname} (${attrs}) : ORIGIN = ${rorigin}, LENGTH = ${rlength}\n")
    string(APPEND EDGEQ_LD_SECTIONS
      "    .edgeq.${lkind}.${rname}${load} : ALIGN(16)\n    {\n"
      "        KEEP(*(.edgeq.${lkind}.${rname} .edgeq.${lkind}.${rname}.*))\n    } > EDGEQ_${rname}\n")
  endforeach()
endforeach()
set(EDGEQ_FW_GEN ${CMAKE_CURRENT_BINARY_DIR}/edgeq_board)
configure_file(${EDGEQ_FW_DIR}/platform/edgeq_board.h.in ${EDGEQ_FW_GEN}/edgeq_board.h @ONLY)
configure_file(${EDGEQ_FW_DIR}/platform/linker.ld.in ${EDGEQ_FW_GEN}/linker.ld @ONLY)

add_executable(edgeq_firmware
  ${EDGEQ_FW_DIR}/runtime/harness.c
  ${EDGEQ_FW_DIR}/runtime/edgeq_crc.c
  ${EDGEQ_FW_DIR}/platform/startup_cortexm.c
  ${EDGEQ_FW_DIR}/platform/timer.c
  ${EDGEQ_FW_DIR}/platform/exit.c
  ${EDGEQ_FW_DIR}/platform/uart_${EDGEQ_UART_FAMILY}.c
  ${EDGEQ_BOARD_SOURCES}
  ${EDGEQ_FW_MODEL_SOURCES})
set_target_properties(edgeq_firmware PROPERTIES OUTPUT_NAME firmware SUFFIX .elf
  LINK_DEPENDS ${EDGEQ_FW_GEN}/linker.ld)
target_include_directories(edgeq_firmware PRIVATE
  ${EDGEQ_FW_GEN} ${EDGEQ_FW_DIR}/runtime ${EDGEQ_FW_DIR}/platform ${EDGEQ_FW_MODEL_INCLUDE})
target_compile_definitions(edgeq_firmware PRIVATE EDGEQ_MODEL_SYMBOL=${EDGEQ_MODEL_SYMBOL})
if(NOT DEFINED EDGEQ_WARN)
  set(EDGEQ_WARN -Wall -Wextra)
endif()
target_compile_options(edgeq_firmware PRIVATE ${EDGEQ_WARN} -ffunction-sections -fdata-sections)
target_link_options(edgeq_firmware PRIVATE
  -nostartfiles -T${EDGEQ_FW_GEN}/linker.ld -Wl,--gc-sections
  -Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/firmware.map --specs=nano.specs --specs=nosys.specs)
if(TARGET edgeq_model)
  target_link_libraries(edgeq_firmware PRIVATE edgeq_model)
endif()
target_link_libraries(edgeq_firmware PRIVATE ${EDGEQ_FIRMWARE_LINK_LIBS} m)
