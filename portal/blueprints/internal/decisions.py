"""What the two review queues (referrals, deal registrations) share, written once: a decision on the
record's page, a one-click decision from a queue row, and a bulk decision on the ticked rows.

The bulk answer: htmx gets the changed rows, the flash and the action bar out of band (the page and
its navigation stay); a plain post goes back to the queue (303), or is shown it again with the error
next to its field (422) and the rows still ticked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Callable

from flask import flash, render_template, url_for

from portal import clock
from portal.errors import DomainError
from portal.web import htmx

BULK_RESULT = "internal/_partials/bulk_result.html"


@dataclass(frozen=True)
class Queue:
    """One review queue: what its records are called, its page, and the partial of one of its rows."""

    noun: str                # "referral"
    plural: str              # "referrals"
    endpoint: str            # the queue page, e.g. "internal.review_queue"
    row_template: str        # renders one `row`

    def count(self, n: int) -> str:
        return f"{n} {self.noun if n == 1 else self.plural}"


def act(form, action: Callable[[], object], done_message: str, *, page: Callable[..., object], detail_url: str,
        name: str):
    """A decision on the record's page: validate, call the service, answer with the refreshed decision
    panel (htmx) or a redirect to the page; invalid or refused, the page again with the error, 422."""
    if form is None or form.validate_on_submit():
        try:
            action()
        except DomainError as err:
            if form is None:
                raise
            form.attach(err)
        else:
            flash(done_message, "success")
            if htmx.is_fragment_request():
                return page()
            return htmx.redirect(detail_url)
    return page(**{f"{name}_form": form}), 422


def one_click(queue: Queue, record, action: Callable[[], object], done_message: Callable[[], str], **row_context):
    """A queue row's own button: htmx gets the updated row (with the error in it, if refused)."""
    error = None
    try:
        action()
    except DomainError as err:
        error = err.message
    if htmx.is_fragment_request():
        return render_template(queue.row_template, row=record, error=error, **row_context)
    flash(error or done_message(), "error" if error else "success")
    return htmx.redirect(url_for(queue.endpoint))


def bulk(queue: Queue, form, *, find: Callable[[list[int]], list], apply: Callable[..., tuple[int, list[str]]],
         fresh_form: Callable[..., object], queue_page: Callable[..., object], **row_context):
    """The bulk action on the ticked rows (`form.ids`, found through access by `find`): `apply(form, chosen)`
    calls the service and returns how many were done and the problems of the others."""
    valid = form.validate_on_submit()  # the form base bounds the ids: a 20-digit one is refused
    chosen = find(form.ids) if valid and form.ids else []
    if valid and not chosen:
        form.form_errors.append(f"Tick at least one {queue.noun} first.")
    elif valid:
        try:
            done, problems = apply(form, chosen)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"{done} of {queue.count(len(chosen))} {form.DONE[form.action.data]}.",
                  "success" if done else "warning")
            for problem in problems:
                flash(problem, "warning")
            if htmx.is_fragment_request():
                return render_template(BULK_RESULT, queue=queue, chosen=chosen,
                                       bulk_form=fresh_form(formdata=None, **form.queue_args()), **row_context)
            return htmx.redirect(url_for(queue.endpoint, **form.queue_args()))
    if htmx.is_fragment_request():
        return render_template(BULK_RESULT, queue=queue, chosen=[], bulk_form=form, **row_context), 422
    return queue_page(form, selected={record.id for record in chosen}), 422


def end_of_day(day, cap_now: bool = False) -> datetime | None:
    """23:59 UTC of a chosen day (a deadline or a protection's end); `cap_now`: never later than now."""
    if day is None:
        return None
    moment = datetime.combine(day, time(23, 59), timezone.utc)
    return min(moment, clock.now()) if cap_now else moment
