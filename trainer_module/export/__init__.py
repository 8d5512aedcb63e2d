"""Export: the serving SavedModel, the seed's Kaggle MetaGraph, float16 weights and the model
.tgz (written atomically, unpacked defensively).
"""
