"""The messages the screens post live with the screens (screens.messages); kept here under the
old name for code that imports it."""

from screens.messages import *  # noqa: F401,F403
from screens.messages import __all__  # noqa: F401
