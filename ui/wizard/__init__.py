"""The guided setup wizard: thin Qt pages over ``advisor.wizard`` (which decides navigation)."""

from ui.wizard.wizard import SetupWizard

__all__ = ["SetupWizard"]
