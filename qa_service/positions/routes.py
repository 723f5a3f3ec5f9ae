"""GET /api/positions and GET /api/timeline. Thin: all work happens in PositionsIndex."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from qa_service.positions.index import PositionsIndex


def get_positions_index(request: Request) -> PositionsIndex:
    """app.state.positions if the app set one, else the service's, else a read-only one on the index dir."""
    state = request.app.state
    index = getattr(state, "positions", None)
    if index is None:
        index = getattr(getattr(state, "service", None), "positions", None)
    if index is None:
        index = PositionsIndex(state.settings, nlp=None)
        state.positions = index
    return index


PositionsDep = Annotated[PositionsIndex, Depends(get_positions_index)]

router = APIRouter(prefix="/api", tags=["positions"])


@router.get("/positions")
def list_positions(
    index: PositionsDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, list[dict[str, Any]]]:
    return {"positions": [p.model_dump() for p in index.positions(actor=actor or None, topic=topic or None)]}


@router.get("/timeline")
def list_timeline(
    index: PositionsDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, list[dict[str, Any]]]:
    return {"events": [e.model_dump() for e in index.timeline(actor=actor or None, topic=topic or None)]}
