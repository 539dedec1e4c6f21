"""2D test functions and what runs on them: gradient noise, optimizer paths, surfaces, tuning maps."""
