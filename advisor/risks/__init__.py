"""Risk flags: a rules engine over data files, and the licence knowledge base.

The planner needs two calls: ``evaluate_risks(RiskContext(...))`` per option, and ``identify_licence(model)``
for the plan's model summary. Rule format: docs/risk-rules.md.
"""

from advisor.risks.engine import RiskContext, evaluate_risks, load_rules
from advisor.risks.licences import LicenceVerdict, identify_licence

__all__ = ["LicenceVerdict", "RiskContext", "evaluate_risks", "identify_licence", "load_rules"]
