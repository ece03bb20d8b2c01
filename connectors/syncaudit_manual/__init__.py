"""Manual systems: erasure is a step a person does and confirms (Mailmunch, a paper archive)."""
