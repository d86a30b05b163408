"""The shared core: neurons, encodings, data, models, measurement, training, results, stats."""
