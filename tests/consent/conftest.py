# The request fixtures of the workflow tests serve the consent tests too.
from tests.prescriptions.conftest import draft, other_physician, patient

__all__ = ["draft", "other_physician", "patient"]
