// Placeholder: implemented in this issue.
#include "engine/tasks/face_detection.h"
