-- postaltop's own copy of the parts of Postal's schema that the tests need.
--
-- Written for this project from the schema facts (Postal 3.3.6: main DB schema version 2024_03_11_205229,
-- message-DB migrations 1..20). Table names, column names, column types and index names/prefix lengths
-- follow Postal so that query plans in the tests are the plans a real installation gets.
--
-- The file has two sections, introduced by the marker lines "-- @main" and "-- @message". The loader
-- (tests/support/postal_builder.py) runs each statement of a section inside the target database, so no
-- statement names a database. Statements end with ";" at the end of a line.
--
-- Conventions reproduced: Rails ids are INT AUTO_INCREMENT; `t.datetime` is DATETIME(6) unless Postal
-- created it with precision nil (plain DATETIME); strings are VARCHAR(255) with prefix indexes; message-DB
-- times are epoch seconds in DECIMAL(18,6).

-- @main

create table schema_migrations (
  version varchar(255) not null,
  primary key (version)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

create table organizations (
  id int(11) not null auto_increment,
  uuid varchar(255) null,
  name varchar(255) null,
  permalink varchar(255) null,
  time_zone varchar(255) null,
  created_at datetime(6) null,
  updated_at datetime(6) null,
  ip_pool_id int(11) null,
  owner_id int(11) null,
  deleted_at datetime(6) null,
  suspended_at datetime(6) null,
  suspension_reason varchar(255) null,
  primary key (id),
  key index_organizations_on_permalink (permalink(8)),
  key index_organizations_on_uuid (uuid(8))
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

create table servers (
  id int(11) not null auto_increment,
  organization_id int(11) null,
  uuid varchar(255) null,
  name varchar(255) null,
  mode varchar(255) null,
  ip_pool_id int(11) null,
  created_at datetime(6) null,
  updated_at datetime(6) null,
  permalink varchar(255) null,
  send_limit int(11) null,
  deleted_at datetime(6) null,
  message_retention_days int(11) null,
  raw_message_retention_days int(11) null,
  raw_message_retention_size int(11) null,
  allow_sender tinyint(1) default 0,
  token varchar(255) null,
  send_limit_approaching_at datetime(6) null,
  send_limit_approaching_notified_at datetime(6) null,
  send_limit_exceeded_at datetime(6) null,
  send_limit_exceeded_notified_at datetime(6) null,
  spam_threshold decimal(8,2) null,
  spam_failure_threshold decimal(8,2) null,
  postmaster_address varchar(255) null,
  suspended_at datetime(6) null,
  outbound_spam_threshold decimal(8,2) null,
  domains_not_to_click_track text null,
  suspension_reason varchar(255) null,
  log_smtp_data tinyint(1) default 0,
  privacy_mode tinyint(1) default 0,
  primary key (id),
  key index_servers_on_organization_id (organization_id),
  key index_servers_on_permalink (permalink(6)),
  key index_servers_on_token (token(6)),
  key index_servers_on_uuid (uuid(8))
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

-- Postal gives credentials no index besides the primary key (server_id included).
create table credentials (
  id int(11) not null auto_increment,
  server_id int(11) null,
  `key` varchar(255) null,
  type varchar(255) null,
  name varchar(255) null,
  options text null,
  last_used_at datetime(6) null,
  created_at datetime(6) null,
  updated_at datetime(6) null,
  hold tinyint(1) default 0,
  uuid varchar(255) null,
  primary key (id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

-- retry_after was created with precision nil: whole seconds.
create table queued_messages (
  id int(11) not null auto_increment,
  server_id int(11) null,
  message_id int(11) null,
  domain varchar(255) null,
  locked_by varchar(255) null,
  locked_at datetime(6) null,
  retry_after datetime null,
  created_at datetime(6) null,
  updated_at datetime(6) null,
  ip_address_id int(11) null,
  attempts int(11) default 0,
  route_id int(11) null,
  manual tinyint(1) default 0,
  batch_key varchar(255) null,
  primary key (id),
  key index_queued_messages_on_domain (domain(8)),
  key index_queued_messages_on_message_id (message_id),
  key index_queued_messages_on_server_id (server_id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

create table domains (
  id int(11) not null auto_increment,
  server_id int(11) null,
  uuid varchar(255) null,
  name varchar(255) null,
  verification_token varchar(255) null,
  verification_method varchar(255) null,
  verified_at datetime null,
  dkim_private_key text null,
  created_at datetime(6) null,
  updated_at datetime(6) null,
  dns_checked_at datetime(6) null,
  spf_status varchar(255) null,
  spf_error varchar(255) null,
  dkim_status varchar(255) null,
  dkim_error varchar(255) null,
  mx_status varchar(255) null,
  mx_error varchar(255) null,
  return_path_status varchar(255) null,
  return_path_error varchar(255) null,
  outgoing tinyint(1) default 1,
  incoming tinyint(1) default 1,
  owner_type varchar(255) null,
  owner_id int(11) null,
  dkim_identifier_string varchar(255) null,
  use_for_any tinyint(1) null,
  primary key (id),
  key index_domains_on_server_id (server_id),
  key index_domains_on_uuid (uuid(8))
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

create table webhook_requests (
  id int(11) not null auto_increment,
  server_id int(11) null,
  webhook_id int(11) null,
  url varchar(255) null,
  event varchar(255) null,
  uuid varchar(255) null,
  payload text null,
  attempts int(11) default 0,
  retry_after datetime(6) null,
  error text null,
  created_at datetime(6) null,
  locked_by varchar(255) null,
  locked_at datetime(6) null,
  primary key (id),
  key index_webhook_requests_on_locked_by (locked_by)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

create table statistics (
  id int(11) not null auto_increment,
  total_messages bigint(20) default 0,
  total_outgoing bigint(20) default 0,
  total_incoming bigint(20) default 0,
  primary key (id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

-- v3 only; bigint ids (Rails 6.1 default).
create table worker_roles (
  id bigint(20) not null auto_increment,
  role varchar(255) null,
  worker varchar(255) null,
  acquired_at datetime null,
  primary key (id),
  unique key index_worker_roles_on_role (role)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

create table scheduled_tasks (
  id bigint(20) not null auto_increment,
  name varchar(255) null,
  next_run_after datetime null,
  primary key (id),
  unique key index_scheduled_tasks_on_name (name)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_general_ci;

-- @message

create table migrations (
  version int(11) not null,
  primary key (version)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- One row per recipient. No index on timestamp, credential_id, domain_id or route_id: windows go by id.
create table messages (
  id int(11) not null auto_increment,
  token varchar(255) null,
  scope varchar(10) null,
  rcpt_to varchar(255) null,
  mail_from varchar(255) null,
  subject varchar(255) null,
  message_id varchar(255) null,
  timestamp decimal(18,6) null,
  route_id int(11) null,
  domain_id int(11) null,
  credential_id int(11) null,
  status varchar(255) null,
  held tinyint(1) default 0,
  size varchar(255) null,
  last_delivery_attempt decimal(18,6) null,
  raw_table varchar(255) null,
  raw_body_id int(11) null,
  raw_headers_id int(11) null,
  inspected tinyint(1) default 0,
  spam tinyint(1) default 0,
  spam_score decimal(8,2) default 0,
  threat tinyint(1) default 0,
  threat_details varchar(255) null,
  bounce tinyint(1) default 0,
  bounce_for_id int(11) default 0,
  tag varchar(255) null,
  loaded decimal(18,6) null,
  clicked decimal(18,6) null,
  received_with_ssl tinyint(1) null,
  hold_expiry decimal(18,6) null,
  tracked_links int(11) default 0,
  tracked_images int(11) default 0,
  parsed tinyint(4) default 0,
  endpoint_id int(11) null,
  endpoint_type varchar(255) null,
  primary key (id),
  key on_message_id (message_id(8)) using btree,
  key on_token (token(6)) using btree,
  key on_bounce_for_id (bounce_for_id) using btree,
  key on_held (held) using btree,
  key on_scope_and_status (scope(1), spam, status(6), timestamp) using btree,
  key on_scope_and_tag (scope(1), spam, tag(8), timestamp) using btree,
  key on_scope_and_spam (scope(1), spam, timestamp) using btree,
  key on_scope_and_thr_status (scope(1), threat, status(6), timestamp) using btree,
  key on_scope_and_threat (scope(1), threat, timestamp) using btree,
  key on_rcpt_to (rcpt_to(12), timestamp) using btree,
  key on_mail_from (mail_from(12), timestamp) using btree,
  key on_raw_table (raw_table(14)) using btree,
  key on_status (status(8)) using btree
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table deliveries (
  id int(11) not null auto_increment,
  message_id int(11) null,
  status varchar(255) null,
  code int(11) null,
  output varchar(512) null,
  details varchar(512) null,
  sent_with_ssl tinyint(1) default 0,
  log_id varchar(100) null,
  timestamp decimal(18,6) null,
  time decimal(8,2) null,
  primary key (id),
  key on_message_id (message_id) using btree
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- A 60-slot ring per type: minute of the hour (UTC) -> count, reset when the slot is older than 30 min.
create table live_stats (
  type varchar(20) not null,
  minute int(11) not null,
  count int(11) null,
  timestamp decimal(18,6) null,
  primary key (minute, type(8))
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table stats_hourly (
  id int(11) not null auto_increment,
  time int(11) null,
  incoming bigint(20) null,
  outgoing bigint(20) null,
  spam bigint(20) null,
  bounces bigint(20) null,
  held bigint(20) null,
  primary key (id),
  unique key on_time (time)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table stats_daily (
  id int(11) not null auto_increment,
  time int(11) null,
  incoming bigint(20) null,
  outgoing bigint(20) null,
  spam bigint(20) null,
  bounces bigint(20) null,
  held bigint(20) null,
  primary key (id),
  unique key on_time (time)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table suppressions (
  id int(11) not null auto_increment,
  type varchar(255) null,
  address varchar(255) null,
  reason varchar(255) null,
  timestamp decimal(18,6) null,
  keep_until decimal(18,6) null,
  primary key (id),
  key on_address (address(6)) using btree,
  key on_keep_until (keep_until) using btree
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table raw_message_sizes (
  id int(11) not null auto_increment,
  table_name varchar(255) null,
  size bigint(20) null,
  primary key (id),
  key on_table_name (table_name(14)) using btree
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
