#!/bin/sh
# The agent-only build's linker launcher: records the agent's exact link command (the folder it
# runs in, then one argument a line) in $1, then links. The desktop replays it with a model's
# generated kernels added (engine/runtime/remote/phone_kernels.h): a static agent cannot dlopen.
out="$1"
shift
{ pwd && printf '%s\n' "$@"; } >"$out.tmp" && mv "$out.tmp" "$out" || exit 1
exec "$@"
