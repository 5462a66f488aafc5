# Fails when LINKS (prunelab_runtime_cpu's libraries, transitively, one per line) names one a
# device agent must not need: the engine's CPU runtime links without ONNX, protobuf, OpenCV,
# libtorch or Qt, and without the engine's parts above it.
cmake_minimum_required(VERSION 3.25)
file(STRINGS "${LINKS}" links)
if(NOT links)
  message(FATAL_ERROR "${LINKS}: empty or missing (re-run cmake)")
endif()
string(JOIN " " all ${links})
foreach(forbidden IN ITEMS onnx protobuf opencv torch Qt6 prunelab_image prunelab_tasks
                           prunelab_live prunelab_train prunelab_lessons prunelab_backends)
  string(FIND "${all}" "${forbidden}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "the CPU runtime links '${forbidden}': ${all}")
  endif()
endforeach()
foreach(needed IN ITEMS prunelab_runtime_cpu prunelab_runtime prunelab_codegen prunelab_core)
  if(NOT needed IN_LIST links)
    message(FATAL_ERROR "the CPU runtime's links lack '${needed}': ${all}")
  endif()
endforeach()
message(STATUS "the CPU runtime links only: ${all}")
