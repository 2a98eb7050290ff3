"""dikom: the open platform of intermunicipal digital administration."""

__version__ = "0.1.0"
