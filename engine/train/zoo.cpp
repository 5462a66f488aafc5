// Placeholder: implemented in this issue.
#include "engine/train/zoo.h"
