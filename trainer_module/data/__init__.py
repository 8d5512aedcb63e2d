"""Reading YT8M records: feature specs and dequantization (the one source), parsing,
records (damaged shards named), the tf.data input pipeline, the vocabulary, synthetic data.
"""
