// Placeholder: filled in by this issue.
#include <gtest/gtest.h>
