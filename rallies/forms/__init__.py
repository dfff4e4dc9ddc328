"""WTForms forms, one module per blueprint. Used only by views."""
