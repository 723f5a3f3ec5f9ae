"""Thin route modules; each builds an APIRouter."""
