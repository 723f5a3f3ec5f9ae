"""HTTP front end: FastAPI app over QAService (routes stay thin; errors mapped in errors.py)."""

from qa_service.api.app import create_app

__all__ = ["create_app"]
