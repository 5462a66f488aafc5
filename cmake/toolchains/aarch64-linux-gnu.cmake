# Cross-compiling for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu: the phone agent's
# build (app/agent/CMakeLists.txt). arm64 libraries come through multiarch (/usr/lib/aarch64-linux-gnu,
# e.g. libopenblas-pthread-dev:arm64), found by explicit hints rather than by re-rooting /usr.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Only the cross toolchain's own tree for libraries and headers, so nothing of the host's x86-64
# /usr/lib or /usr/include slips in; programs (ninja, the host's tools) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# try_run and the like run the target's programs under qemu when it is there.
find_program(PRUNELAB_QEMU_AARCH64 qemu-aarch64-static)
if(PRUNELAB_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PRUNELAB_QEMU_AARCH64})
endif()
