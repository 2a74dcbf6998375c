"""!propose, !agree / !abstain / !object / !block, !proposal: consent proposals.

A proposal is open until its deadline (a scheduled job that runs however late,
so a deadline passed while the bot was down closes it once, on start) or until
its author closes it. A member's latest position is their position; every
change is kept. The outcome is worked out by ``outcome_of`` and recorded in the
decision log, tagged #proposal and linked to the proposal's post, then announced
where the proposal was made. One reminder, ``proposals.remind_before`` ahead of
the deadline, names only the members asked ("with @ana") who have not answered.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from bot.arguments import Members, Number, Quorum, Quoted, Text, Until, arg, mentions
from bot.commands import command, job
from bot.context import Context, JobContext, Post
from bot.errors import PermissionDenied, UserError
from bot.i18n import format_minutes
from bot.messages import Place, Reply, TimeTable
from bot.messages import Text as TextPart
from bot.storage import Outcome, Position, Proposal, ProposalStatus, Stance, Unit
from bot.timefmt import format_instant

MAX_TEXT = 4000
MAX_REASON = 1000
TAG = "proposal"
_STANCE_COMMANDS = {Stance.AGREE: "proposal.agree", Stance.ABSTAIN: "proposal.abstain",
                    Stance.OBJECT: "proposal.object", Stance.BLOCK: "proposal.block"}
_ICONS = {Stance.AGREE: "👍", Stance.ABSTAIN: "🤐", Stance.OBJECT: "✋", Stance.BLOCK: "⛔"}


@dataclass(frozen=True)
class ProposeArgs:
    text: str = arg(Quoted("proposal_text"))
    until: datetime | None = arg(Until())
    quorum: int | None = arg(Quorum())
    members: tuple[str, ...] = arg(Members())


@dataclass(frozen=True)
class PositionArgs:
    proposal: int = arg(Number("proposal"))
    reason: str | None = arg(Text("reason", optional=True))


@dataclass(frozen=True)
class ReasonedArgs:
    proposal: int = arg(Number("proposal"))
    reason: str = arg(Text("reason"))


@dataclass(frozen=True)
class ProposalArgs:
    proposal: int = arg(Number("proposal"))


# --- the rules --------------------------------------------------------------------------

def outcome_of(stances: Sequence[Stance], quorum: int) -> Outcome:
    """Any block: blocked; else any objection: objections stand; else fewer positions than the
    quorum (abstentions count): no quorum; else consented."""
    if Stance.BLOCK in stances:
        return Outcome.BLOCKED
    if Stance.OBJECT in stances:
        return Outcome.OBJECTIONS
    if len(stances) < quorum:
        return Outcome.NO_QUORUM
    return Outcome.CONSENTED


def silent_members(proposal: Proposal, current: Sequence[tuple[Position, Position | None]]) -> list[str]:
    """Those named with "with" who have taken no position (usernames compared ignoring case)."""
    answered = {position.member_name.casefold() for position, _ in current}
    return [member for member in proposal.members if member.casefold() not in answered]


# --- words: every text in a given language, for commands and jobs alike --------------------

@dataclass(frozen=True)
class Words:
    """The catalogue in one language, and the commands as typed in it."""

    t: Callable[..., str]
    command: Callable[[str], str]

    def stance(self, position: Position) -> str:
        reason = self.t("proposals.reason", reason=" ".join(position.reason.split())) if position.reason else ""
        return self.t(f"proposals.stance.{position.stance.value}") + reason

    def outcome(self, outcome: Outcome, count: int, quorum: int) -> str:
        """"⏳ no quorum (2 of 3 positions)": ``count`` positions stood against a ``quorum``."""
        return self.t(f"proposals.outcome.{outcome.value}", count=count, quorum=quorum)

    def closed_outcome(self, closed: Proposal, count: int) -> str:
        assert closed.outcome is not None, closed.id
        return self.outcome(closed.outcome, count, closed.quorum)

    def position_lines(self, current: Sequence[tuple[Position, Position | None]]) -> list[str]:
        return [self.t("proposals.position_line", who=p.member_name, stance=self.stance(p),
                       before=self.t("proposals.before", stance=self.stance(b)) if b else "")
                for p, b in current]

    def how_to_answer(self, proposal_id: int) -> str:
        names = {stance: self.command(key) for stance, key in _STANCE_COMMANDS.items()}
        return self.t("proposals.how_to_answer", id=proposal_id, agree=names[Stance.AGREE],
                      abstain=names[Stance.ABSTAIN], object=names[Stance.OBJECT], block=names[Stance.BLOCK])


def _words(ctx: Context | JobContext, lang: str) -> Words:
    def typed(key: str) -> str:
        spec = ctx.registry.get(key)
        return ctx.config.bot.prefix + (spec.name(lang) if spec else key)

    return Words(t=partial(ctx.catalogue.t, lang), command=typed)


def _deadline(ctx: Context | JobContext, proposal: Proposal) -> TimeTable:
    return TimeTable(at=proposal.deadline_at, zones=ctx.coop_zones())


# --- opening ------------------------------------------------------------------------------

@command("proposal.open", en="propose", es="proponer", order=70, args=ProposeArgs)
def propose(ctx: Context, args: ProposeArgs) -> list[Reply]:
    if len(args.text) > MAX_TEXT:
        raise ctx.usage_error("proposals.too_long", limit=MAX_TEXT)
    settings = ctx.config.proposals
    deadline = args.until or ctx.now + settings.default_deadline
    remind_at = deadline - settings.remind_before if settings.remind_before else None
    place, sender = ctx.reply_place, ctx.incoming.sender
    proposal = ctx.unit.proposals.open(
        text=args.text, quorum=args.quorum or 1, members=args.members, deadline_at=deadline,
        remind_at=remind_at if remind_at and remind_at > ctx.now else None, by=sender.name, by_id=sender.id,
        platform=place.platform, channel_id=place.channel_id, thread_id=place.thread_id,
        channel_name=ctx.incoming.place.channel_name, link=ctx.incoming.link, lang=ctx.lang, now=ctx.now,
    )
    _plan_jobs(ctx, proposal)
    ctx.publish(partial(_opened_update, ctx, proposal))
    words = _words(ctx, ctx.lang)
    asked = ctx.t("proposals.asked", members=mentions(proposal.members)) if proposal.members else ""
    return [ctx.reply(
        ctx.t("proposals.opened", id=proposal.id, by=proposal.created_by, text=proposal.text),
        ctx.t("proposals.deadline"), _deadline(ctx, proposal),
        ctx.t("proposals.quorum", quorum=proposal.quorum) + asked + "\n" + words.how_to_answer(proposal.id),
    )]


def _opened_update(ctx: Context, proposal: Proposal, lang: str) -> Reply:
    """A new proposal as news, for the update destinations (``digest.updates``), in ``lang``."""
    t = partial(ctx.catalogue.t, lang)
    deadline = TimeTable(at=proposal.deadline_at, zones=ctx.coop_zones(), compact=True)
    return Reply(parts=(TextPart(t("updates.proposal_opened", id=proposal.id, by=proposal.created_by,
                                   text=proposal.text)),
                        TextPart(t("updates.deadline")), deadline, *_link(t, proposal)), lang=lang)


def _closed_update(ctx: Context | JobContext, closed: Proposal, count: int, lang: str) -> Reply:
    """A proposal's outcome as news, in ``lang``."""
    words = _words(ctx, lang)
    text = words.t("updates.proposal_closed", id=closed.id, outcome=words.closed_outcome(closed, count),
                   text=closed.text)
    return Reply(parts=(TextPart(text), *_link(words.t, closed)), lang=lang)


def _link(t: Callable[..., str], proposal: Proposal) -> tuple[TextPart, ...]:
    return (TextPart(t("decisions.link", link=proposal.link)),) if proposal.link else ()


def _plan_jobs(ctx: Context | JobContext, proposal: Proposal) -> None:
    for job_id, run_at, kind, payload in _jobs_of(proposal):
        ctx.jobs.run_once(job_id, run_at, kind, payload)


def _cancel_jobs(ctx: Context | JobContext, proposal: Proposal) -> None:
    """Drop the jobs of a proposal now closed (a job cancelling itself as it runs is harmless)."""
    for job_id, _, _, _ in _jobs_of(proposal):
        ctx.jobs.cancel(job_id)


def _jobs_of(proposal: Proposal) -> list[tuple[str, datetime, str, dict[str, Any]]]:
    """The jobs an open proposal needs: its deadline, and its reminder if one is still due."""
    payload = {"proposal_id": proposal.id}
    jobs = [(f"proposal-deadline:{proposal.id}", proposal.deadline_at, "proposal.deadline", payload)]
    if proposal.remind_at is not None and proposal.reminded_at is None:
        jobs.append((f"proposal-reminder:{proposal.id}", proposal.remind_at, "proposal.reminder", payload))
    return jobs


# --- positions ----------------------------------------------------------------------------

def _take(ctx: Context, proposal_id: int, stance: Stance, reason: str | None) -> list[Reply]:
    if reason is not None and len(reason) > MAX_REASON:
        raise ctx.usage_error("proposals.reason_too_long", limit=MAX_REASON)
    proposal = _open_proposal(ctx, proposal_id)
    sender = ctx.incoming.sender
    taken, before = ctx.unit.proposals.take_position(proposal.id, member_id=sender.id, member_name=sender.name,
                                                     stance=stance, reason=reason, now=ctx.now)
    words = _words(ctx, ctx.lang)
    changed = ctx.t("proposals.before", stance=words.stance(before)) if before else ""
    return [ctx.reply(ctx.t("proposals.taken", icon=_ICONS[stance], id=proposal.id, who=taken.member_name,
                            stance=words.stance(taken), before=changed))]


@command("proposal.agree", en="agree", es="deacuerdo", order=71, args=PositionArgs)
def agree(ctx: Context, args: PositionArgs) -> list[Reply]:
    return _take(ctx, args.proposal, Stance.AGREE, args.reason)


@command("proposal.abstain", en="abstain", es="abstengo", order=72, args=PositionArgs)
def abstain(ctx: Context, args: PositionArgs) -> list[Reply]:
    return _take(ctx, args.proposal, Stance.ABSTAIN, args.reason)


@command("proposal.object", en="object", es="objeto", order=73, args=ReasonedArgs)
def object_(ctx: Context, args: ReasonedArgs) -> list[Reply]:
    return _take(ctx, args.proposal, Stance.OBJECT, args.reason)


@command("proposal.block", en="block", es="bloqueo", order=74, args=ReasonedArgs)
def block(ctx: Context, args: ReasonedArgs) -> list[Reply]:
    return _take(ctx, args.proposal, Stance.BLOCK, args.reason)


def _proposal(ctx: Context, proposal_id: int, *, lock: bool = False) -> Proposal:
    proposal = ctx.unit.proposals.get(proposal_id, lock=lock)
    if proposal is None:
        raise ctx.usage_error("proposals.no_such_proposal", id=proposal_id)
    return proposal


def _open_proposal(ctx: Context, proposal_id: int) -> Proposal:
    """The proposal, locked until the command's unit ends; a refusal naming the outcome if it is closed."""
    proposal = _proposal(ctx, proposal_id, lock=True)
    if proposal.status is ProposalStatus.CLOSED:
        count = len(ctx.unit.proposals.standing(proposal.id))
        outcome = _words(ctx, ctx.lang).closed_outcome(proposal, count)
        raise UserError("proposals.closed", id=proposal.id, outcome=outcome)
    if ctx.now >= proposal.deadline_at:  # its job is about to close it (or will, as the bot starts)
        raise UserError("proposals.deadline_passed", id=proposal.id, show=f"{ctx.command('proposal')} {proposal.id}")
    return proposal


# --- one proposal: show, close ------------------------------------------------------------

@command("proposal", en="proposal", es="propuesta", order=75, args=ProposalArgs)
def show_proposal(ctx: Context, args: ProposalArgs) -> list[Reply]:
    proposal = _proposal(ctx, args.proposal)
    current = ctx.unit.proposals.standing(proposal.id)
    words = _words(ctx, ctx.lang)
    lines = [ctx.t("proposals.show_header", id=proposal.id, by=proposal.created_by, text=proposal.text,
                   when=format_instant(proposal.created_at, ctx.sender_zone, ctx.lang))]
    if proposal.status is ProposalStatus.CLOSED:
        lines.append(ctx.t("proposals.show_outcome", outcome=words.closed_outcome(proposal, len(current)),
                           decision=proposal.decision_id))
    summary = [ctx.t("proposals.quorum", quorum=proposal.quorum),
               ctx.t("proposals.positions_header", count=len(current))]
    summary += words.position_lines(current) or [ctx.t("proposals.no_positions")]
    silent = silent_members(proposal, current)
    if silent and proposal.status is ProposalStatus.OPEN:
        summary.append(ctx.t("proposals.not_answered", members=", ".join(silent)))
    lines.append(ctx.t("proposals.deadline"))
    return [ctx.reply("\n".join(lines), _deadline(ctx, proposal), "\n".join(summary))]


@command("proposal.close", en="proposal close", es="propuesta cerrar", order=76, args=ProposalArgs)
def close_proposal(ctx: Context, args: ProposalArgs) -> list[Reply]:
    proposal = _open_proposal(ctx, args.proposal)
    sender = ctx.incoming.sender
    if proposal.created_by_id != sender.id or proposal.platform != ctx.incoming.platform:
        raise PermissionDenied("proposals.not_author", id=proposal.id, by=proposal.created_by)
    closed, text, count = _close(ctx.unit, proposal, by=sender.name, now=ctx.now,
                                 words=_words(ctx, proposal.lang))
    _cancel_jobs(ctx, proposal)
    ctx.publish(partial(_closed_update, ctx, closed, count), also=_place(closed))  # announced there already
    here = ctx.reply_place
    replies = [ctx.reply(text)]
    if (here.platform, here.channel_id, here.thread_id) != (closed.platform, closed.channel_id, closed.thread_id):
        replies.append(Reply(parts=(TextPart(text),), lang=closed.lang, place=_place(closed)))
    return replies


def _close(unit: Unit, proposal: Proposal, *, by: str | None, now: datetime,
           words: Words) -> tuple[Proposal, str, int]:
    """Close the (locked, open) proposal: record its outcome as a decision; the closed proposal,
    its announcement, in the words given (the proposal's language), and how many positions stood."""
    current = unit.proposals.standing(proposal.id)
    outcome = outcome_of([p.stance for p, _ in current], proposal.quorum)
    shown = words.outcome(outcome, len(current), proposal.quorum)
    summary = "; ".join(words.t("proposals.decision_position", who=p.member_name, stance=words.stance(p))
                        for p, _ in current) or words.t("proposals.no_positions")
    decision = unit.decisions.record(
        text=words.t("proposals.decision_text", id=proposal.id, outcome=shown, text=proposal.text,
                     positions=summary),
        tags=(TAG,), call_id=None, by=proposal.created_by, by_id=proposal.created_by_id,
        platform=proposal.platform, channel_id=proposal.channel_id, thread_id=proposal.thread_id,
        channel_name=proposal.channel_name, link=proposal.link, now=now,
    )
    closed = unit.proposals.close(proposal.id, outcome=outcome, decision_id=decision.id, by=by, now=now)
    assert closed is not None, proposal.id  # the caller holds the row's lock and saw it open
    lines = [words.t("proposals.closed_announcement", id=closed.id, outcome=shown, text=closed.text),
             words.t("proposals.positions_header", count=len(current)),
             *(words.position_lines(current) or [words.t("proposals.no_positions")]),
             words.t("proposals.recorded_as", decision=decision.id)]
    return closed, "\n".join(lines), len(current)


def _place(proposal: Proposal) -> Place:
    return Place(platform=proposal.platform, channel_id=proposal.channel_id, thread_id=proposal.thread_id,
                 channel_name=proposal.channel_name)


# --- jobs: the deadline and the reminder --------------------------------------------------

def _planned(kind: str) -> Callable[[Unit], list[tuple[str, datetime, dict[str, Any]]]]:
    """The ``kind`` jobs open proposals need (re-planned on start if the scheduler lacks them)."""
    def planned(unit: Unit) -> list[tuple[str, datetime, dict[str, Any]]]:
        return [(job_id, run_at, payload) for proposal in unit.proposals.still_open()
                for job_id, run_at, of_kind, payload in _jobs_of(proposal) if of_kind == kind]

    return planned


@job("proposal.deadline", recover=_planned("proposal.deadline"), catch_up=True)
def deadline_passed(ctx: JobContext, payload: dict[str, Any]) -> list[Post]:
    proposal = ctx.unit.proposals.get(int(payload["proposal_id"]), lock=True)
    if proposal is None or proposal.status is not ProposalStatus.OPEN:
        return []  # closed by its author, or already by this job: once
    closed, text, count = _close(ctx.unit, proposal, by=None, now=ctx.now, words=_words(ctx, proposal.lang))
    _cancel_jobs(ctx, proposal)  # its reminder, if not sent yet
    ctx.publish(partial(_closed_update, ctx, closed, count), _place(closed))
    return [Post(platform=closed.platform, place=_place(closed),
                 reply=Reply(parts=(TextPart(text),), lang=closed.lang))]


@job("proposal.reminder", recover=_planned("proposal.reminder"))
def remind(ctx: JobContext, payload: dict[str, Any]) -> list[Post]:
    proposal = ctx.unit.proposals.claim_reminder(int(payload["proposal_id"]), ctx.now)
    if proposal is None or ctx.now >= proposal.deadline_at:
        return []  # reminded already, closed, or too late to be of use
    current = ctx.unit.proposals.standing(proposal.id)
    silent = silent_members(proposal, current)
    if proposal.members and not silent:
        return []  # everyone asked has answered: nobody to remind
    words = _words(ctx, proposal.lang)
    left = format_minutes(max(1, int((proposal.deadline_at - ctx.now).total_seconds() // 60)), proposal.lang)
    lines = [words.t("proposals.reminder", id=proposal.id, left=left, text=proposal.text)]
    if proposal.members:
        lines.append(words.t("proposals.reminder_silent", members=mentions(silent)))
    else:
        lines.append(words.t("proposals.reminder_count", count=len(current), quorum=proposal.quorum))
    lines.append(words.t("proposals.deadline"))
    parts = (TextPart("\n".join(lines)), _deadline(ctx, proposal), TextPart(words.how_to_answer(proposal.id)))
    reply = Reply(parts=parts, lang=proposal.lang)
    return [Post(platform=proposal.platform, place=_place(proposal), reply=reply)]
