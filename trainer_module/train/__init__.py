"""Training: the loop (tf.distribute, checkpoints, summaries), losses, model flags, training
clusters (TF_CONFIG roles) and heap trimming.
"""
