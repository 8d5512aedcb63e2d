"""Everything the compiled pipeline imports by dotted path: Trainer's run_fn, Transform's
preprocessing_fn, the Evaluator's TFMA metric and extractors. Never imports jobs/.
"""
