// Placeholder: implemented in this issue.
#include "engine/tasks/text_detection.h"
