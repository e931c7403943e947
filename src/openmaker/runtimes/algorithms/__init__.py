"""SageMaker's built-in algorithms (XGBoost, Linear Learner, K-Means, …), run as
``python -m openmaker.runtimes.algorithms <algorithm>``. Their implementations arrive in a later issue.
"""
