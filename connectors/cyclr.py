"""Properties that Cyclr connector files carry and Cyclewright names otherwise or does not use.

Those Cyclewright has under another name (RENAMED) load as that property. The others are
accepted, left out of the loaded connector, and reported as ignored, so that a file exported
from Cyclr loads as it is. Only display and bookkeeping properties are listed: one
that changes what a call sends (Cyclr's XmlRootElement, say) is not, so a file relying on it
is refused rather than quietly called differently. Sources: Cyclr's connector documentation
(connector settings, authentication, methods, parameters and fields pages).
"""

from __future__ import annotations

from connectors.spec import Authentication, Connector, FieldSpec, Method, Parameter, Spec

IGNORED: dict[type[Spec], frozenset[str]] = {
    # Id: Cyclr's own number; Icon: the logo (Cyclewright shows none); Status, Comments: release notes.
    Connector: frozenset({"Id", "Icon", "Status", "Comments"}),
    # Description: the text Cyclr's installer shows beside the authentication.
    Authentication: frozenset({"Description"}),
    # Hide, Warning, Status, Comments, Subcategory: how Cyclr's builder lists the method.
    Method: frozenset({"Hide", "Warning", "Status", "Comments", "Subcategory"}),
    # DisplayName, Multiline: how Cyclr's step setup shows the parameter.
    Parameter: frozenset({"DisplayName", "Multiline"}),
    # Another label Cyclr's builder shows for a field.
    FieldSpec: frozenset({"DisplayFieldName"}),
}

# Cyclr's name → Cyclewright's: the field's label.
RENAMED: dict[type[Spec], dict[str, str]] = {FieldSpec: {"DisplayName": "DisplayField"}}

MESSAGE = "ignored (a Cyclr property Cyclewright does not use)"


def both_given(name: str) -> str:
    """The notice for a Cyclr name given alongside Cyclewright's own."""
    return f"ignored: Cyclr's name for {name}, which is given too"


def ignored(model: type[Spec]) -> frozenset[str]:
    """What `model` ignores; a property the model has is always used, never ignored."""
    return IGNORED.get(model, frozenset()) - model.model_fields.keys()


def renamed(model: type[Spec]) -> dict[str, str]:
    """Cyclr's names for properties of `model`, each with the property's name."""
    return RENAMED.get(model, {})
