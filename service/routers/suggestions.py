from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from service import observability as obs
from service.auth import require_scope
from service.deps import EngineDep, SettingsDep, check_text_limits
from service.schemas import SuggestionsIn, SuggestionsOut

router = APIRouter(prefix="/v1", tags=["suggestions"], dependencies=[Depends(require_scope("suggestions"))])


@router.post("/suggestions", response_model=SuggestionsOut,
             summary="Ranked existing answers for a post or a whole thread; empty with reason nothing_fits")
def suggestions(req: SuggestionsIn, engine: EngineDep, settings: SettingsDep) -> SuggestionsOut:
    if (req.post is None) == (req.thread is None):
        raise HTTPException(422, "send exactly one of 'post' or 'thread'")
    messages = [req.post] if req.post is not None else list(req.thread or [])
    if len(messages) > settings.max_thread_messages:
        raise HTTPException(413, f"thread has {len(messages)} messages; the limit is {settings.max_thread_messages}")
    for i, m in enumerate(messages):
        check_text_limits(m.title, m.body, settings, where=f"thread[{i}].body" if req.thread else "post.body")
    text = "\n".join(engine.text_of(m.title, m.body) for m in messages)
    threshold = engine.model.suggestion_threshold
    if len(engine.index) == 0:
        return SuggestionsOut(suggestions=[], reason="empty_knowledge_base", threshold=threshold)
    preds, emb = engine.model.predict([text])
    found = engine.suggestions_for(emb, [text], req.limit, {str(k): v for k, v in req.filters.items()} or None,
                                   preds)[0]
    obs.SUGGEST.labels("suggested" if found else "nothing_fits").inc()
    return SuggestionsOut(suggestions=found, reason="ok" if found else "nothing_fits", threshold=threshold)
