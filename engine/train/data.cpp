// Placeholder: implemented in this issue.
#include "engine/train/data.h"
