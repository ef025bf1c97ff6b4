"""The default texts of a DM escalation and of crisis mode, filled for each customer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentconsole.replies import templates

if TYPE_CHECKING:
    from agentconsole.replies.canned import CannedLibrary

DM_DEFAULT = ("Hi {first_name|there}, {agent_first_name|this is the team} here. Could you send us your order "
              "number and a few details? We'll sort this out with you here.")
PUBLIC_DEFAULT = "@{handle} Hi {first_name|there}, we've sent you a DM so we can sort this out."
# Meta threads a reply under the comment and shows no handle for Facebook customers: no @mention.
PRIVATE_REPLY_PUBLIC_DEFAULT = "Hi {first_name|there}, we've sent you a private message so we can sort this out."
ASK_TO_DM = ("@{handle} Hi {first_name|there}, we'd like to help but can't message you first. "
             "Could you send us a DM with your order number?")
STATUS_DEFAULT = ("We know some of you are having trouble right now and we're on it. We're messaging "
                  "each of you directly; updates here as soon as we have them.")
CRISIS_DM_DEFAULT = ("Hi {first_name|there}, thanks for flagging this. We're on it and will keep you posted "
                     "here. If an order is affected, reply with its number.")


@dataclass(frozen=True, slots=True)
class EscalationTexts:
    dm: str
    public: str

    @classmethod
    def defaults(cls, library: CannedLibrary, values: Mapping[str, str | None], *,
                 private_reply: bool = False) -> EscalationTexts:
        """The DM and public texts filled for this customer; the public one from the /dm canned reply
        when the agent has one, so a team's own wording wins."""
        public_source = PRIVATE_REPLY_PUBLIC_DEFAULT if private_reply else PUBLIC_DEFAULT
        for canned in library.all():
            if canned.shortcut == "dm":
                public_source = canned.body
                break
        return cls(templates.fill(DM_DEFAULT, values).text, templates.fill(public_source, values).text)
