"""Progressive training: flags -> frozen TrainConfig, the schedule (kimg -> stage, alpha,
minibatch, lr), losses, the compiled per-stage step, optimizer, precision, tf.distribute,
checkpoints and the run directory contract.
"""
