"""The triage pipeline: clean text → one encoder pass (tags + embedding) →
suggestions from the vector index → routing policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from models.index import VectorIndex
from models.inference import TriageModel
from models.textprep import detect_language, post_text
from service import observability as obs
from service.incident_schemas import IncidentRef
from service.policy import Decision, Policy, PostFacts
from service.schemas import Alternative, ExpertOut, HeadOut, PostIn, RouteOut, Suggestion, TriageOut
from service.store import Store
from service.suggest import best_answerability, candidates_needed, score_hits, select

if TYPE_CHECKING:
    from service.db.sync import ChangeFollower
    from service.experts import ExpertDirectory
    from service.history import ResponseHistory
    from service.incidents import IncidentService

PASSAGE_CHARS = 300


@dataclass
class Engine:
    model: TriageModel
    store: Store
    index: VectorIndex
    policy: Policy
    max_suggestions: int = 3
    incidents: IncidentService | None = None  # logs every post and groups posts into incidents
    experts: ExpertDirectory | None = None  # klantexperts from imported threads (service/threads.py)
    history: ResponseHistory | None = None  # expected response times from imported threads
    follower: ChangeFollower | None = None  # applies other replicas' writes (PostgreSQL store only)
    index_watermark: int = 0  # every store change up to this one is in the index (service/index_loading.py load_index)
    snapshot_mark: tuple[int, int] | None = None  # (index revision, watermark) of the snapshot on disk

    @property
    def version(self) -> str:
        return self.model.manifest.files.get("model.onnx", "")[:12]

    def text_of(self, title: str, body: str) -> str:
        return post_text(title, body)

    def retrieve(self, embeddings: np.ndarray, texts: list[str], k: int, filters: dict[str, str] | None = None,
                 preds: list[dict] | None = None) -> list[tuple[list[Suggestion], float | None]]:
        """Per post: the suggestions to serve (empty: nothing fits) and the best candidate's
        answerability (None without an answerability model or without candidates)."""
        answerability = self.model.answerability
        hits = self.index.search(embeddings, candidates_needed(answerability, k), filters, texts)
        out = []
        for i, row in enumerate(hits):
            scored = score_hits(row, preds[i] if preds is not None else None, answerability)
            kept = select(scored, answerability, self.model.retrieval_threshold, k)
            out.append(([self._suggestion(s.hit.answer_id, s.hit.score, s.answerability) for s in kept],
                        best_answerability(scored)))
        return out

    def suggestions_for(self, embeddings: np.ndarray, texts: list[str], k: int, filters: dict[str, str] | None = None,
                        preds: list[dict] | None = None) -> list[list[Suggestion]]:
        return [s for s, _ in self.retrieve(embeddings, texts, k, filters, preds)]

    def _suggestion(self, answer_id: str, score: float, answerability: float | None = None) -> Suggestion:
        a = self.store.get_answer(answer_id) or {"title": answer_id, "answer": ""}
        passage = (a.get("question") or a.get("answer") or "")[:PASSAGE_CHARS]
        return Suggestion(answer_id=answer_id, title=a["title"], url=a.get("url"), score=round(score, 4),
                          answerability=None if answerability is None else round(answerability, 4), passage=passage)

    def triage(self, posts: list[PostIn]) -> list[TriageOut]:
        texts = [self.text_of(p.title, p.body) for p in posts]
        preds, emb = self.model.predict(texts)
        found = self.retrieve(emb, texts, self.max_suggestions, preds=preds)
        return [self._one(p, t, pred, sug, e, best)
                for p, t, pred, (sug, best), e in zip(posts, texts, preds, found, emb, strict=True)]

    def _one(self, post: PostIn, text: str, pred: dict, sugg: list[Suggestion], emb: np.ndarray | None = None,
             answerability: float | None = None) -> TriageOut:
        language = detect_language(text)
        facts = PostFacts(
            labels={h: p.label for h, p in pred.items()}, confidence={h: p.confidence for h, p in pred.items()},
            uncertain={h: p.uncertain for h, p in pred.items()},
            alternatives={h: p.alternatives for h, p in pred.items()}, text=text, language=language,
            suggestion_score=sugg[0].score if sugg else None, answerability=answerability,
            followers=post.author.followers,
            is_new_member=post.author.is_new_member)

        def respond(decision: Decision, incident: IncidentRef | None) -> TriageOut:
            return self._respond(pred, sugg, decision, incident, facts, emb)

        if self.incidents is not None and emb is not None:
            # the incident service logs the post with the response, all under its lock
            out = self.incidents.observe_and_respond(post, pred, emb, facts, self.policy.decide, respond)[2]
            return cast(TriageOut, out)
        return respond(self.policy.decide(facts), None)

    def _respond(self, pred: dict, sugg: list[Suggestion], decision: Decision, incident: IncidentRef | None,
                 facts: PostFacts, emb: np.ndarray | None) -> TriageOut:
        if incident is not None and incident.status_message and decision.target == "peers":
            sugg = [Suggestion(answer_id=f"incident:{incident.id}", title="Statusbericht van webcare", score=1.0,
                               passage=incident.status_message[:PASSAGE_CHARS]), *sugg][:self.max_suggestions]
        self._count(pred, decision.target, decision.fallback, bool(sugg))
        labels = {h: HeadOut(label=p.label, confidence=round(p.confidence, 4), uncertain=p.uncertain,
                             alternatives=[Alternative(label=a, confidence=round(c, 4)) for a, c in p.alternatives])
                  for h, p in pred.items()}
        target = cast(Literal["peers", "klantexpert", "webcare"], decision.target)
        route = RouteOut(target=target, reasons=decision.reasons, explanation=decision.explanation,
                         expected_response=self.expected_response(decision.target, facts.labels.get("topic")),
                         rules_fired=decision.rules_fired, fallback=decision.fallback)
        if target == "klantexpert" and self.experts is not None and emb is not None:
            route.experts = [ExpertOut(id=m.id, name=m.name, score=m.score, reasons=m.reasons)
                             for m in self.experts.match(emb, facts.labels)]
        return TriageOut(labels=labels, language=facts.language, suggestions=sugg, route=route,
                         model_version=self.version, incident=incident)

    def expected_response(self, target: str, topic: str | None) -> str:
        """From the imported threads' history when there is enough, else the policy's text."""
        from_history = self.history.expected_response(target, topic) if self.history is not None else None
        return from_history or self.policy.expected_response(target)

    @staticmethod
    def _count(pred: dict, target: str, fallback: bool, suggested: bool) -> None:
        obs.ROUTES.labels(target, str(fallback).lower()).inc()
        obs.SUGGEST.labels("suggested" if suggested else "nothing_fits").inc()
        for h, p in pred.items():
            obs.LABELS.labels(h, p.label).inc()
            if p.uncertain:
                obs.ABSTAIN.labels(h).inc()
