"""Style group: how the response sounds — its tone and emotion, its form and style, the audience it is
written for, and the authorial voice it imitates."""

from __future__ import annotations

from ifverify.constraints.base import SoftConstraint

_PIECES = ("answer", "story", "explanation", "email", "guide", "post", "speech", "review")


class Tone(SoftConstraint):
    """Judged satisfied when the attitude and feeling carried by the response match the requested tone or
    emotion throughout (or shift as asked), whether or not the feeling is named."""

    id = "soft.tone"
    family = "style"
    description = ("Tone & emotion: the response must carry a given attitude or feeling — warm, formal, wry, "
                   "urgent, the voice of a weary detective, quiet sadness, excitement — consistently.")
    templates = (
        "Adopt the tone of {persona}.",
        "Keep the tone {tone} from start to finish.",
        "Let the writing convey {emotion} without naming the feeling outright.",
        "Write in a tone that is {tone}, with an undercurrent of {emotion}.",
        "Let the mood move from {emotion} to {ending} by the end.",
        "Sound {tone}, the way {persona} would.",
        "Avoid sounding {bad_tone}; make the voice {tone} instead.",
    )
    slots = {
        "tone": ("warm", "formal", "playful", "sarcastic", "solemn", "upbeat", "calm and reassuring", "urgent",
                 "wry", "nostalgic", "matter-of-fact", "enthusiastic", "gently humorous", "serious", "hopeful",
                 "melancholy", "confident", "apologetic"),
        "emotion": ("excitement", "gratitude", "quiet sadness", "frustration", "wonder", "pride", "anxiety",
                    "relief", "affection", "indignation", "joy", "regret"),
        "ending": ("hope", "acceptance", "resolve", "calm", "delight", "determination"),
        "persona": ("a weary detective", "an excited tour guide", "a patient grandparent", "a strict headmaster",
                    "a sports commentator", "a late-night radio host", "a cheerful flight attendant",
                    "a nature documentary narrator", "an old sea captain", "a nervous intern on the first day"),
        "bad_tone": ("preachy", "condescending", "robotic", "overly dramatic", "flippant", "cold"),
    }


class FormStyle(SoftConstraint):
    """Judged satisfied when the response takes the requested literary form (dialogue, diary entry, fable…)
    and writing style (concise, lyrical, journalistic…), not just mentions them."""

    id = "soft.form_style"
    family = "style"
    description = ("Form & style: the response must take a given literary form or genre (a dialogue, a diary "
                   "entry, a fairy tale, a news report) and/or a given writing style (concise, lyrical, academic).")
    templates = (
        "Write it in the style of {genre}.",
        "Present the content as {form}.",
        "Keep the writing style {style} throughout.",
        "Frame the whole answer as {form}, and keep the style {style}.",
        "Give it the feel of {genre}, but keep the language {style}.",
        "Tell it as {form} with the flavour of {genre}.",
    )
    slots = {
        "genre": ("a fairy tale", "a news report", "a scientific abstract", "a noir mystery", "an epic poem",
                  "a travel guide", "a sports broadcast", "a bedtime story", "a legal brief", "a fable with a moral",
                  "a cookbook entry", "a museum placard"),
        "form": ("a dialogue between two friends", "a diary entry", "a letter to a younger self",
                 "a series of text messages", "an interview transcript", "a short scene from a play", "a speech",
                 "a limerick", "a set of FAQs", "a blog post", "a numbered sequence of short scenes",
                 "a monologue"),
        "style": ("concise", "ornate", "conversational", "academic", "minimalist", "lyrical", "journalistic",
                  "plainspoken", "descriptive", "punchy"),
    }


class Audience(SoftConstraint):
    """Judged satisfied when vocabulary, depth, examples and pace suit the named readers, and any
    adaptation the text asks for (no jargon, skip the basics) is made."""

    id = "soft.audience"
    family = "style"
    description = ("Audience-specific: the response must be pitched at a given audience — ten-year-old readers, "
                   "busy executives, non-native speakers, experts — in vocabulary, depth, examples and pace.")
    templates = (
        "Write for an audience of {audience}.",
        "Explain it so that {audience} could follow along.",
        "Your readers are {audience}; {adapt}.",
        "Tailor the {piece} to {audience}, and {adapt}.",
        "Assume the reader is {reader}.",
        "Pitch it at {audience} who {knowledge}.",
        "Write as if for {reader}, and {adapt}.",
    )
    slots = {
        "audience": ("ten-year-old readers", "first-year university students", "busy executives",
                     "retired engineers", "non-native English speakers", "high-school science teachers",
                     "new parents", "small-business owners", "software developers",
                     "patients with no medical background", "first-time visitors to the city",
                     "experienced hikers", "policy makers", "teenagers"),
        "adapt": ("avoid jargon they would not know", "use examples from their daily lives",
                  "get to the point quickly", "define every technical term", "keep the sentences short and clear",
                  "respect their expertise and skip the basics"),
        "reader": ("a complete beginner", "an expert who wants only the key details", "a curious child",
                   "a skeptical investor", "someone reading on a phone during a commute",
                   "someone listening through a screen reader"),
        "knowledge": ("have never heard of the topic", "know the basics but want depth", "are short on time",
                      "need to make a decision today", "will read it aloud to others"),
        "piece": _PIECES,
    }


class AuthorialStyle(SoftConstraint):
    """Judged satisfied when the response recognisably imitates the described kind of author or tradition
    (diction, sentence shape, imagery), while still doing the task."""

    id = "soft.authorial_style"
    family = "style"
    description = ("Authorial style: the response must imitate the voice of a described kind of writer or "
                   "literary tradition (a hard-boiled crime writer of the 1940s, a Romantic poet) in its diction, "
                   "sentence shape and imagery.")
    templates = (
        "Write in the manner of {author}.",
        "Imitate the voice of {author}, with {trait}.",
        "Channel {author}, using {trait}.",
        "Borrow the style of {author}, but keep the vocabulary modern.",
        "Make it read as though {author} wrote it.",
        "Adopt an authorial voice marked by {trait}.",
        "Write as {author} would, {pov}.",
    )
    slots = {
        "author": ("a nineteenth-century Russian novelist", "a hard-boiled crime writer of the 1940s",
                   "a Victorian naturalist keeping field notes", "a Beat Generation poet",
                   "a classical Greek tragedian", "a Romantic-era poet", "a Gothic horror novelist",
                   "a minimalist short-story writer", "a magical-realist storyteller",
                   "an Elizabethan playwright", "an Enlightenment essayist", "a medieval chronicler",
                   "a haiku master of old Japan", "a modernist stream-of-consciousness novelist"),
        "trait": ("long, winding sentences and moral reflection", "clipped sentences and dry wit",
                  "rich imagery drawn from nature", "archaic diction and formal address",
                  "sparse dialogue and unspoken meaning", "dreamlike detail presented as ordinary fact",
                  "a brooding atmosphere and mounting dread", "heightened language and dramatic asides"),
        "pov": ("in the first person", "in the third person", "addressing the reader directly",
                "in the present tense", "in the past tense"),
    }


TYPES: tuple[type[SoftConstraint], ...] = (Tone, FormStyle, Audience, AuthorialStyle)
