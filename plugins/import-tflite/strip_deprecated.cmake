# Build step for tflite.fbs: copies a schema with every `(deprecated)` attribute removed, since
# flatc 2.0.8 rejects it on enum values and union members (upstream's schema.fbs has both).
# The attribute does not change the binary layout. Usage: cmake -DIN=a.fbs -DOUT=b.fbs -P this
file(READ "${IN}" text)
string(REGEX REPLACE "[ \t]*\\([ \t]*deprecated[ \t]*\\)" "" text "${text}")
string(REGEX REPLACE ",[ \t]*deprecated[ \t]*\\)" ")" text "${text}")
string(REGEX REPLACE "\\([ \t]*deprecated[ \t]*,[ \t]*" "(" text "${text}")
file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
