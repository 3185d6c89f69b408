"""Questions to offer: examples from the library's own section headings, and follow-ups from
the sections of the reports an answer cited. Nothing here is written for particular reports:
a heading's last part becomes a topic, whatever the report is about."""

from __future__ import annotations

import logging
import re

import streamlit as st

from assistant.answers import Answer
from assistant.service import Assistant
from assistant.types import Chunk

log = logging.getLogger(__name__)

# Enumeration before a heading: (一) 一、 1. 一是 第一，…
_ENUM = re.compile(
    r"^\s*(?:[（(]\s*[一二三四五六七八九十\d]+\s*[)）]|[一二三四五六七八九十\d]+\s*[、.．)]"
    r"|[一二三四五六七八九十]+是|第[一二三四五六七八九十\d]+[，、,：:]?)\s*"
)
_QUOTES = str.maketrans("", "", "“”‘’\"'「」『』《》")
_PIECES = re.compile(r"[\s,，;；:：]+")
# A topic is a short phrase: shorter ones are not questions, longer ones are not headings.
TOPIC_MIN, TOPIC_MAX = 4, 18


def topic_of(section: str) -> str:
    """The phrase a section heading is about: its last level, without enumeration, quotes
    or the lead-in before a space or comma; "" when it is not a usable phrase."""
    last = (section or "").split("›")[-1]
    last = _ENUM.sub("", last).translate(_QUOTES).strip()
    pieces = [p for p in _PIECES.split(last) if p]
    if not pieces:
        return ""
    phrase = _ENUM.sub("", pieces[-1])
    return phrase if TOPIC_MIN <= len(phrase) <= TOPIC_MAX else ""


def _about(place: str, topic: str) -> str:
    return f"{place}在“{topic}”方面有哪些做法？"


@st.cache_data(ttl=60, show_spinner=False, max_entries=256)
def _chunks(_assistant: Assistant, assistant_key: int, doc_id: str) -> list[Chunk]:
    """A report's chunks in order (cached briefly: several answers on a page ask for them)."""
    try:
        return list(_assistant.document_text(doc_id)[1])
    except Exception:  # noqa: BLE001 - a removed report just has nothing to suggest
        log.info("chunks of %s unavailable", doc_id, exc_info=True)
        return []


def chunks_of(assistant: Assistant, doc_id: str) -> list[Chunk]:
    return _chunks(assistant, id(assistant), doc_id)


def lookup(assistant: Assistant):
    """doc_id -> the report's chunks, for the answer view's 第N段 and 查看原文."""
    return lambda doc_id: chunks_of(assistant, doc_id)


def _topics(assistant: Assistant, doc_id: str) -> list[tuple[str, str]]:
    """(section, topic) of a report's sections in reading order, each topic once."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for chunk in chunks_of(assistant, doc_id):
        topic = topic_of(chunk.section)
        if topic and topic not in seen:
            seen.add(topic)
            out.append((chunk.section, topic))
    return out


def examples(assistant: Assistant, limit: int = 3) -> list[str]:
    """One question per report about its first usable section, and, when the library holds
    reports of two or more places, a comparison on a topic of another report."""
    try:
        docs = list(assistant.retriever.documents())
    except Exception:  # noqa: BLE001 - no examples is better than a broken page
        log.warning("listing documents for examples failed", exc_info=True)
        return []
    questions: list[str] = []
    spare: list[str] = []
    places = {d.region for d in docs if d.region}
    for d in docs:
        topics = _topics(assistant, d.doc_id)
        if not topics:
            continue
        place = d.region or f"《{d.title}》"
        if len(questions) < limit - (1 if len(places) > 1 else 0):
            questions.append(_about(place, topics[0][1]))
        else:
            spare.append(topics[0][1])
            break
    if len(places) > 1 and spare:
        questions.append(f"比较各地在“{spare[0]}”方面的做法")
    return questions[:limit]


def follow_ups(assistant: Assistant, answer: Answer, limit: int = 3) -> list[str]:
    """Questions about the sections that come after the cited ones in the cited reports."""
    if not answer.citations:
        return []
    cited_sections = {(c.doc_id, c.section) for c in answer.citations}
    asked = {answer.question, answer.standalone_question}
    out: list[str] = []
    for doc_id in dict.fromkeys(c.doc_id for c in answer.citations):
        citation = next(c for c in answer.citations if c.doc_id == doc_id)
        place = citation.region or f"《{citation.title}》"
        topics = _topics(assistant, doc_id)
        cited_at = [i for i, (s, _) in enumerate(topics) if (doc_id, s) in cited_sections]
        start = (max(cited_at) + 1) if cited_at else 0
        taken = 0
        # The sections after the cited one first, then the ones before it; at most two
        # per report so that a second cited report gets its turn.
        for section, topic in topics[start:] + topics[:start]:
            question = _about(place, topic)
            if (doc_id, section) in cited_sections or question in asked or question in out:
                continue
            out.append(question)
            taken += 1
            if taken == 2 or len(out) >= limit:
                break
        if len(out) >= limit:
            break
    return out
