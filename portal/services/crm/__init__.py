"""CRM integration use cases: connections, mappings, rules, queueing sync work, webhooks, the log.

What services and views call, as `crm.<name>`; the views import nothing from `portal.sync`. The
sync itself lives in `portal.sync.engine`; connectors are reached through `portal.sync.connectors`.
"""
from portal.errors import DomainError  # noqa: F401 - tests reach it as crm.DomainError
from portal.services.crm.configuration import (add_rule, delete_rule, mapping_objects, mappings_of,
                                               portal_field_groups, portal_fields, portal_picklists, rules_of,
                                               save_mappings)
from portal.services.crm.connections import (Terms, TestResult, connector, create_connection, crm_properties, decrypt,
                                             encrypt, get_connection, list_connections, provider_label, providers,
                                             refresh_properties, terms, test_connection, token, update_connection,
                                             webhook_secret)
from portal.services.crm.dry_runs import ACTIONS as DRY_RUN_ACTIONS
from portal.services.crm.dry_runs import (DryRunView, dry_run_items, dry_run_view, latest_dry_run,
                                          redrive_dry_runs, start_dry_run)
from portal.services.crm.health import report as report_health
from portal.services.crm.registrations import CONTACT_MATCH_OPTION
from portal.services.crm.registrations import EVENTS as DEAL_EVENTS
from portal.services.crm.registrations import EVENTS_OPTION as DEAL_EVENTS_OPTION
from portal.services.crm.registrations import (deal_connections, deal_event, deal_options, deal_panel,
                                               import_connections, link_imported, linked_to, save_deal_options,
                                               sync_deal_now, syncs_deals, unlink_deal)
from portal.services.crm.reading import (LogFilters, Progress, RecordPanel, links_for, log_entries, log_page,
                                         progress, record_numbers, record_panel, referral_numbers)
from portal.services.crm.scheduling import (FULL_SYNC_JOB, PULL_JOB, PUSH_JOB, kick_push, mark_dirty,
                                            pending_connection_ids, pulling, queues_job_cleanup, redrive, run_full_sync, schedule_pull,
                                            schedule_push, start_full_sync, sync_now, unlink)
from portal.services.crm.webhooks import InvalidSignature, receive_webhook
from portal.sync import mapping  # noqa: F401 - the forms build crm.mapping.Mapping rows
from portal.sync.http import CrmError  # noqa: F401 - tests reach it as crm.CrmError
from portal.sync.mapping import Mapping, MappingError  # noqa: F401 - the mappings form builds and shows them
