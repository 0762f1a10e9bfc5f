"""Exports of a report state as CSV or Excel, in constant memory whatever the number of rows.

Rows come from the database in batches (a server-side cursor on PostgreSQL) and go straight out:
CSV as a stream of chunks, Excel through openpyxl's write-only workbook (rows spill to a temp file).
A small export streams at once; a large one runs in the worker, reports progress through Redis
(the worker's read transaction stays open while it streams, so it writes nothing to the database
until it is done) and leaves a file whose link works for its user until it expires.
"""
from __future__ import annotations

import csv
import io
import logging
import os
from datetime import timedelta
from typing import Iterator

from flask import current_app
from openpyxl import Workbook

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.jobs import queues
from portal.models import ExportJob, ExportStatus, User
from portal.models.types import utcnow
from portal.services.reporting.query import Report, ReportState, build

log = logging.getLogger(__name__)

FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 2000


def neutralise(value):
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe; numbers and
    dates are typed values, never formulas, and stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def inline_limit() -> int:
    return int(current_app.config.get("EXPORT_INLINE_ROWS", 5000))


def file_name(report: Report, fmt: str) -> str:
    return f"{report.entity.key}-{utcnow():%Y%m%d-%H%M}.{FORMATS[fmt][1]}"


def csv_chunks(report: Report, *, progress=None) -> Iterator[str]:
    """The report as CSV text, a chunk at a time (UTF-8 with a BOM so spreadsheets read the accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(h) for h in report.export_header()])
    for count, row in enumerate(report.iter_rows(), start=1):
        writer.writerow(["" if cell is None else neutralise(cell) for cell in report.export_cells(row)])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    yield buffer.getvalue()


def write_csv(report: Report, stream, *, progress=None) -> None:
    for chunk in csv_chunks(report, progress=progress):
        stream.write(chunk.encode("utf-8"))


def write_xlsx(report: Report, stream, *, progress=None) -> None:
    """The report as an .xlsx workbook written to `stream` (openpyxl write-only mode)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(report.entity.label)
    sheet.append([neutralise(h) for h in report.export_header()])
    for count, row in enumerate(report.iter_rows(), start=1):
        sheet.append([neutralise(cell) for cell in report.export_cells(row)])
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    workbook.save(stream)


WRITERS = {"csv": write_csv, "xlsx": write_xlsx}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise DomainError("Choose CSV or Excel.", field="format")
    return fmt


# ---- large exports in the worker ---------------------------------------------------------------

def start(user: User, *, entity: str, query: str, fmt: str) -> ExportJob:
    """Queue a large export for the worker; the job reads the report as `user`, with their access."""
    check_format(fmt)
    report = build(user, entity, ReportState.from_query(entity, query))
    job = ExportJob(user_id=user.id, entity=entity, query=report.state.query_string(page=False), format=fmt,
                    status=ExportStatus.QUEUED.value, total_rows=report.count())
    db.session.add(job)
    db.session.flush()
    queues.enqueue_after_commit("portal.jobs.tasks.run_export", job.id, queue="default",
                                job_id=f"export-{job.id}")
    db.session.commit()
    return job


def run(export_id: int) -> ExportJob | None:
    """Write the export's file (the worker's job). A finished export is left alone, so a second run
    does nothing; a failure is recorded on the export and re-raised for RQ to retry."""
    job = db.session.get(ExportJob, export_id)
    if job is None or job.status == ExportStatus.DONE.value:
        return job
    user = job.user
    report = build(user, job.entity, ReportState.from_query(job.entity, job.query))
    folder = export_folder()
    name = f"export-{job.id}-{os.urandom(8).hex()}.{FORMATS[job.format][1]}"
    download_name = file_name(report, job.format)
    total = job.total_rows
    job.status = ExportStatus.RUNNING.value
    db.session.commit()  # end the read transaction that loaded the export before streaming
    conn = queues.connection()

    def progress(done: int) -> None:
        conn.set(_progress_key(export_id), done, ex=3600)

    try:
        with open(os.path.join(folder, name), "wb") as stream:
            WRITERS[job.format](report, stream, progress=progress)
    except Exception as err:
        db.session.rollback()
        failed = db.session.get(ExportJob, export_id)
        failed.status, failed.error = ExportStatus.FAILED.value, f"The export failed: {err}"[:2000]
        db.session.commit()
        raise
    db.session.rollback()  # the streaming read is over
    job = db.session.get(ExportJob, export_id)
    job.status, job.file_name, job.done_rows = ExportStatus.DONE.value, f"{name}|{download_name}", total
    job.finished_at = utcnow()
    job.expires_at = utcnow() + timedelta(seconds=current_app.config.get("EXPORT_LINK_SECONDS", 86400))
    db.session.commit()
    conn.delete(_progress_key(export_id))
    log.info("export-%s: %s rows of %s as %s for user %s", job.id, total, job.entity, job.format, user.id)
    return job


def export_for(user: User, export_id: int) -> ExportJob:
    """One of `user`'s exports, with its progress. Raises NotFound for anyone else's."""
    job = db.session.get(ExportJob, export_id)
    if job is None or job.user_id != user.id:
        raise NotFound()
    if job.status in (ExportStatus.QUEUED.value, ExportStatus.RUNNING.value):
        done = queues.connection().get(_progress_key(export_id))
        if done is not None:
            job.done_rows = int(done)
    return job


def download(user: User, export_id: int) -> tuple[str, str, str]:
    """(path, download name, mimetype) of a finished export. Raises NotFound, or DomainError once
    its link has expired."""
    job = export_for(user, export_id)
    if job.status != ExportStatus.DONE.value:
        raise NotFound()
    if not job.file_name:
        raise DomainError("This download link has expired. Export the report again.")
    stored, download_name = job.file_name.split("|", 1)
    path = os.path.join(export_folder(), stored)
    if job.expires_at is None or job.expires_at <= utcnow() or not os.path.exists(path):
        raise DomainError("This download link has expired. Export the report again.")
    return path, download_name, FORMATS[job.format][0]


def purge_expired() -> int:
    """Delete the files of expired exports (the sweep calls this)."""
    expired = list(db.session.scalars(db.select(ExportJob).where(
        ExportJob.expires_at <= utcnow(), ExportJob.file_name.is_not(None))))
    for job in expired:
        path = os.path.join(export_folder(), job.file_name.split("|", 1)[0])
        if os.path.exists(path):
            os.remove(path)
        job.file_name = None
    db.session.commit()
    return len(expired)


def export_folder() -> str:
    folder = current_app.config.get("EXPORT_FOLDER") or os.path.join(current_app.instance_path, "exports")
    os.makedirs(folder, exist_ok=True)
    return folder


def _progress_key(export_id: int) -> str:
    return f"portal:export-progress:{export_id}"
