-- One database per service, each owned by its own login role, so a service reaches only its own
-- data. The postgres image runs this once, as POSTGRES_USER, when the data volume is empty
-- (docker-entrypoint-initdb.d); to re-run it, remove the volume (`docker compose down -v`).
--
-- The passwords are for a local stack only and match deploy/docker-compose.yml. Anywhere else,
-- create the roles with secrets from your secret store and set HAQ_<SVC>_DATABASE_URL accordingly.

CREATE ROLE haq_intake LOGIN PASSWORD 'haq_intake';
CREATE DATABASE haq_intake OWNER haq_intake ENCODING 'UTF8';
REVOKE ALL ON DATABASE haq_intake FROM PUBLIC;

CREATE ROLE haq_routing LOGIN PASSWORD 'haq_routing';
CREATE DATABASE haq_routing OWNER haq_routing ENCODING 'UTF8';
REVOKE ALL ON DATABASE haq_routing FROM PUBLIC;

CREATE ROLE haq_escalation LOGIN PASSWORD 'haq_escalation';
CREATE DATABASE haq_escalation OWNER haq_escalation ENCODING 'UTF8';
REVOKE ALL ON DATABASE haq_escalation FROM PUBLIC;

CREATE ROLE haq_notifications LOGIN PASSWORD 'haq_notifications';
CREATE DATABASE haq_notifications OWNER haq_notifications ENCODING 'UTF8';
REVOKE ALL ON DATABASE haq_notifications FROM PUBLIC;
