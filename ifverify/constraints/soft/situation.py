"""Situation group: the setting the response is written in — a role to play, the demands of a particular
kind of task, and a complex context of conditions and background to take into account."""

from __future__ import annotations

from ifverify.constraints.base import SoftConstraint

_TASK_KINDS = ("summarisation", "translation", "coding", "maths", "rewriting", "classification",
               "question-answering", "data extraction", "letter-writing", "brainstorming")


class Role(SoftConstraint):
    """Judged satisfied when the response is voiced by the named role throughout — its knowledge, concerns
    and way of speaking — without breaking character."""

    id = "soft.role"
    family = "situation"
    description = ("Role-based: the response must be given in the person of a role or character — a pilot, a "
                   "kindergarten teacher, a museum curator, a pirate captain — with that role's knowledge, "
                   "concerns and voice, without breaking character.")
    templates = (
        "Respond as {role}.",
        "Answer as if you were {role} {context}.",
        "Take on the role of {role} and never break character.",
        "Play {role}, and let your {trait} show in how you answer.",
        "Write this from the point of view of {role} {context}, using the words that role would use.",
        "Speak as {role} would when {moment}.",
    )
    slots = {
        "role": ("a seasoned airline pilot", "a kindergarten teacher", "a pirate captain",
                 "a customer-support agent", "a museum curator", "a personal trainer", "a medieval blacksmith",
                 "a stand-up comedian", "a park ranger", "a career counsellor", "a chef at a busy bistro",
                 "an astronaut aboard a space station", "a school librarian", "a financial advisor",
                 "a wizard's apprentice", "a travel blogger"),
        "context": ("speaking to a nervous newcomer", "answering a curious student",
                    "writing to a disappointed client", "briefing a team before a big day",
                    "giving advice to an old friend"),
        "trait": ("expertise", "experience", "personality", "habits of speech", "priorities"),
        "moment": ("explaining a mistake", "welcoming newcomers", "breaking bad news", "celebrating a success",
                   "handing over to a colleague", "fielding a tricky question"),
    }


class Task(SoftConstraint):
    """Judged satisfied when the response meets the requirements that belong to its kind of task — a
    faithful translation, a summary that adds nothing, code with error handling, shown working in maths."""

    id = "soft.task"
    family = "situation"
    description = ("Task-specific: the response must meet requirements particular to its kind of task — a "
                   "summary that adds nothing new, a translation that keeps the meaning, code that handles errors, "
                   "a solution that shows its working.")
    templates = (
        "When {doing}, {requirement}.",
        "Since this is a {kind} task, {requirement}.",
        "For this {kind} task, the output must {output}.",
        "Complete the {kind} task so that {goal}; {requirement}.",
        "Treat this as a {kind} job: {requirement}.",
        "When {doing}, make sure the result would {output}.",
    )
    slots = {
        "doing": ("summarising the text", "translating the passage", "writing the code", "solving the problem",
                  "rewriting the paragraph", "answering the question", "classifying the reviews",
                  "drafting the email"),
        "kind": _TASK_KINDS,
        "requirement": ("keep every number exactly as given", "preserve the original meaning",
                        "show your reasoning step by step", "state any assumptions first",
                        "flag anything you are unsure about", "keep the original order of ideas",
                        "do not add information that is not in the source",
                        "finish with a one-line check of the result"),
        "output": ("be usable without further editing", "hold up when checked against the original",
                   "keep the source's terminology", "include a brief justification of each choice",
                   "stay faithful to the input"),
        "goal": ("it fits on a single screen", "a non-expert could check it", "it could be handed straight to a "
                 "colleague", "it meets the brief exactly", "it keeps the original voice"),
    }


class ComplexContext(SoftConstraint):
    """Judged satisfied when the response takes every stated circumstance and condition into account and
    follows the branch of any if/otherwise instruction that applies."""

    id = "soft.complex_context"
    family = "situation"
    description = ("Complex context: the response must take into account a layered situation — background "
                   "circumstances, several simultaneous conditions, or if/otherwise branches — and act on all of "
                   "them together.")
    templates = (
        "Assume {scenario}, and shape the answer around that.",
        "If {condition}, {then}; otherwise, {otherwise}.",
        "Taking into account that {scenario}, {then}.",
        "Bear in mind that {scenario}, and also that {extra}.",
        "Given that {scenario}, and that {extra}, {then}.",
        "Keep in mind that {extra}; if {condition}, {then}.",
    )
    slots = {
        "scenario": ("the reader has already tried the usual fixes", "the budget is tight and the deadline is "
                     "next week", "the audience includes both experts and newcomers",
                     "the company has just been through a merger", "the event is moving online at short notice",
                     "the team is split across three time zones", "the original plan has just failed",
                     "the reader will act on this advice today", "a previous answer was rejected as too vague",
                     "the policy changes next month"),
        "condition": ("the question is about safety", "the reader seems to be a beginner",
                      "the data looks incomplete", "more than one answer is reasonable",
                      "the topic is time-sensitive"),
        "then": ("mention that in the first line", "recommend asking an expert", "explain the basics first",
                 "give the most likely answer and flag the rest", "note what would change the answer"),
        "otherwise": ("go straight to the details", "keep it brief", "give one clear recommendation",
                      "skip the caveats", "answer in a single paragraph"),
        "extra": ("the reader prefers short answers", "nothing may depend on paid tools",
                  "the result will be shared with the public", "everything must work offline",
                  "a legal review comes next"),
    }


TYPES: tuple[type[SoftConstraint], ...] = (Role, Task, ComplexContext)
