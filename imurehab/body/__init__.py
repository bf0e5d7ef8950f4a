"""Body model: segments, sensor-to-segment calibration and joint angles."""
