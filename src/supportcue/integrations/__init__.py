"""Help-desk connectors behind one small protocol (`base.HelpDesk`): Chatwoot first.

`conversation` holds the rules of a case's conversation (customer turns get suggestions, agent
turns are the replies sent), shared by `POST /v1/messages` and the webhooks; `delivery` posts the
notes a help desk is owed, from the durable outbox, with retries.
"""

from supportcue.integrations.base import HelpDesk, Ignored, Inbound, Note, RecordingHelpDesk, caller_id
from supportcue.integrations.chatwoot import ChatwootHelpDesk
from supportcue.integrations.delivery import Backoff, NoteWorker, NotReady

__all__ = [
    "Backoff",
    "ChatwootHelpDesk",
    "HelpDesk",
    "Ignored",
    "Inbound",
    "NotReady",
    "Note",
    "NoteWorker",
    "RecordingHelpDesk",
    "caller_id",
]
