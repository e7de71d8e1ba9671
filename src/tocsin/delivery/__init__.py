"""The delivery path: validated drafts are stored (group commit), then fanned out."""

from tocsin.delivery.publisher import Publisher

__all__ = ["Publisher"]
