"""Evaluation: GAP / Hit@1 / PERR / mAP (one vectorized NumPy implementation) and the HTML
report.
"""
