"""Videos and bulk images of a generator: the original's `util_scripts.py` tools (interpolation
video, training video, fake images) as streaming writers, never holding a whole video in memory."""
