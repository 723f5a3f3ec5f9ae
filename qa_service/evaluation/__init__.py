"""Evaluation of retrieval, citations and answers on gold question sets (`qa eval`)."""

from qa_service.evaluation.dataset import EvalQuestion, load_dataset
from qa_service.evaluation.suite import COMPARE_VARIANTS, EvalOptions, EvalOutcome, run_evaluation

__all__ = ["COMPARE_VARIANTS", "EvalOptions", "EvalOutcome", "EvalQuestion", "load_dataset", "run_evaluation"]
