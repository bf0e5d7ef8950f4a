"""Clinical and training analysis: repetitions, range of motion, quality, load."""
