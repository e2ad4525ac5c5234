"""The plan's model summary carries the risk engine's licence verdict: the one source the GUI and reports read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.model.types import LicenceInfo
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions
from advisor.risks.licences import UNKNOWN_ID, identify_licence
from tests.core.plan.builders import machine, minimax_model

CTX = PlanOptions(context=8192, quants=("UD-Q4_K_M",))


@pytest.mark.parametrize(
    "info, licence, commercial",
    [
        (LicenceInfo(card_license="apache-2.0"), "apache-2.0", "allowed"),
        (LicenceInfo(card_license="mit"), "mit", "allowed"),
        (LicenceInfo(card_license="llama3.1"), "llama3.1", "conditional"),
        (LicenceInfo(), UNKNOWN_ID, "unknown"),
    ],
)
def test_summary_licence_is_the_identified_one(info: LicenceInfo, licence: str, commercial: str) -> None:
    model = replace(minimax_model(), repo=None, licence=info)
    verdict = identify_licence(model)
    summary = plan(model, machine(ram_gib=512), CTX).model
    assert (summary.licence, summary.licence_commercial) == (verdict.licence.id, verdict.commercial)
    assert (summary.licence, summary.licence_commercial) == (licence, commercial)
