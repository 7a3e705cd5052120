"""Plan before apply (issue 15): what a run would do now, read-only (make.py), as plain records
(model.py), and the approvals the operator gives on a shown plan (approve.py)."""

from .approve import approve_plans
from .make import make_plan
from .model import LinePlanView, PlanReport, PoPlan, RecordPlan

__all__ = ["LinePlanView", "PlanReport", "PoPlan", "RecordPlan", "approve_plans", "make_plan"]
