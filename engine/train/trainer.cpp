// Placeholder: implemented in this issue.
