// Placeholder: implemented in this issue.
#include "engine/train/torch_module.h"
