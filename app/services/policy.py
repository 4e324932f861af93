"""Requests the assistant declines whatever the knowledge base says: help with evading the
platform's rules or checks, and attempts to override its instructions or extract secrets.

A compliance tool that quoted the fake-order rules back to "how do I fake orders without getting
caught?" would look like it was helping, so these get a plain refusal instead.
"""

from __future__ import annotations

import re

_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompt|guidelines|"
    r"everything)\b|\bsystem prompt\b|\bapi[ -]?keys?\b|\bpretend (you are|to be)\b|\bjailbreak"
    r"|\byou are now\b.{0,40}"
    r"\b(assistant|ai|bot|model|unrestricted|no (restrictions|rules|limits))\b",
    re.I,
)
_EVASION = re.compile(
    r"without (getting|being) (caught|noticed|detected)"
    r"|without (the )?(platform|aliexpress|anyone|them|customs) (noticing|knowing|finding out)"
    r"|\b(get around|bypass|circumvent|evade|dodge|fool|trick|game)\b.{0,40}"
    r"\b(rules?|checks?|detection|system|platform|algorithm|reviews?|deadlines?|filters?|limits?|customs)\b"
    r"|\b(avoid|escape) (detection|being detected|the checks)\b"
    r"|\bhide\b.{0,60}\b(miss|misses|detect|detection|checks?|notice)\b"
    r"|\bundetect|\bsmuggl"
    r"|\b(counterfeits?|fakes?|replicas?|knock-?offs?|banned|prohibited)\b.{0,60}"
    r"\b(past|through) (customs|the checks|inspection|the border)\b"
    r"|without (them|it|the goods|the parcels?) being (seized|caught|found|detected|noticed)",
    re.I,
)

# Asking for reviews, ratings or buyer messages to be written for posting is asking for fake
# feedback, whatever the wording; replying to a review is what the Draft page is for.
_FABRICATION = re.compile(
    r"\b(write|generate|create|compose|make up|invent|give me)\b.{0,40}"
    r"\b(reviews?|feedback|ratings?|testimonials?)\b"
    r"|\bfrom (different|multiple|several|other|fake) (buyer )?accounts\b",
    re.I,
)
_REPLY = re.compile(r"\b(repl(y|ies|ying)|respon(d|se|ding)|answer(ing)?)\b", re.I)

DECLINE_FABRICATION = (
    "I can't write reviews, ratings or feedback to post: fake feedback is forbidden on AliExpress "
    "and can cost a store its rating and more. I can explain the feedback rules, or help you "
    "draft a reply to a real review on the Draft page."
)
DECLINE_EVASION = (
    "I can't help with getting around AliExpress rules or its checks. I can explain what a rule "
    'requires and how to stay compliant, for example: "What counts as a fake order?" or '
    '"How do I sell branded goods legitimately?"'
)
DECLINE_INJECTION = (
    "I only answer questions about platform rules from the knowledge base, and I don't change "
    "those instructions or reveal configuration or keys. Ask me about a rule, a deadline or a "
    "penalty."
)


def declined(question: str) -> str | None:
    """The refusal text when a request must be declined, else None."""
    if _INJECTION.search(question):
        return DECLINE_INJECTION
    if _EVASION.search(question):
        return DECLINE_EVASION
    if _FABRICATION.search(question) and not _REPLY.search(question):
        return DECLINE_FABRICATION
    return None


_LEGAL = re.compile(
    r"\b(seiz\w*|detain\w*|lawsuits?|sued?|suing|courts?|lawyers?|attorneys?|legal|"
    r"litigation|counterfeit\w*|fakes?|customs|cbp|criminal|police|cease and desist|"
    r"infringement claims?|rights? holders?)\b",
    re.I,
)

LEGAL_NOTE = (
    "Not legal advice: this is general information from platform rules and public sources. "
    "For seizures, lawsuits or counterfeit claims, consult a lawyer."
)


def legal_exposure(question: str) -> bool:
    """Questions where a seller may face legal consequences beyond platform penalties."""
    return bool(_LEGAL.search(question))
