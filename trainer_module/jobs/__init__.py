"""One module per `yt8m` command that trains, evaluates or predicts (train, eval, inference,
score, ensemble, report). Only the CLI imports these.
"""
