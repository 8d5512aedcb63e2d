"""KaggleExport: Kaggle CSV and model .tgz from the blessed model."""
