// Placeholder: implemented in this issue.
#include "engine/tasks/image_output.h"
