# Writes a text file into a C++ header as a raw string literal, so C++ code can hand the file
# out (the exported PyTorch script's projections). Run with -P: cmake -DIN=file -DOUT=header
# -DNAME=kIdentifier -P embed_text.cmake. Build-time, so editing the file rebuilds the header.
file(READ "${IN}" text)
set(delimiter "PLEMBED")
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains )${delimiter}\", which would end the raw string early")
endif()
get_filename_component(source_name "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "// Generated from ${source_name} by embed_text.cmake at build time; do not edit.\n"
  "#pragma once\n#include <string_view>\n"
  "inline constexpr std::string_view ${NAME} = R\"${delimiter}(${text})${delimiter}\";\n")
# Only touch the header when the text changed, so unrelated builds do not recompile its users.
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
