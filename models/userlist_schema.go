package models

// The users list's derived data: what the database keeps beside the
// memberships so that every question of the list (userlist_query.go) is
// answered from an index at 100,000 people per account. Triggers keep it,
// in the transaction of the change, so every path that creates, changes or
// deletes a person, a company assignment or an invitation link (the
// wizard, invitations, access requests, edits, cascades, bulk seeding,
// test fixtures) keeps it right with no call anyone could forget:
//
//   - member_counts: people per (account, type, status). The total of the
//     whole list, or of a type and status, is a sum of at most twelve rows.
//   - member_search: every distinct suffix of each person's name and email
//     address (cut to searchSuffixLength characters), under the person's
//     kind, with its lcp: the number of characters the suffix shares with
//     the person's previous suffix in byte order. "Name or email contains
//     q" is "some suffix starts with q": one index range per kind asked
//     for (a type, a status, or all twelve). The rows in it whose lcp is
//     shorter than q are the first of their person there, so counting them
//     counts people without a DISTINCT.
//   - company_search: member_search again under each company of the
//     person (the same suffix, lcp and kind), keyed by company first, so
//     that a search among the people of a non-Admin's companies reads one
//     short range per company instead of the whole account's range beside
//     all of their companies' people. Its rows are exactly member_search
//     joined with assignments; the triggers of both tables keep it so.
//   - assignments.member_kind: the kind of the person assigned, so that a
//     company's people of a type and status are one index range.
//   - memberships.invitation_expires_at: when the person's current
//     invitation link expires (none: NULL), so that "Invitation expired"
//     is a range of an index; and memberships.invited_at set on every
//     row, so that the list can be sorted by it.
//
// A kind is the first letters of a type and a status ("ra" is Reporting
// and active; memberKindSQL).
//
// This file and dialect.go are where SQL differs between SQLite and
// PostgreSQL; the queries of userlist_query.go are portable but for the
// helpers dialect.go gives them.

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// searchSuffixLength is how much of each suffix is kept. A longer search
// finds its candidates by its first searchSuffixLength characters and
// checks them in full.
const searchSuffixLength = 24

// maxSearchedLength bounds the positions a suffix can start at: the
// longest sort name or email address.
const maxSearchedLength = 254

// memberKindSQL is the kind of the membership named by row (NEW or OLD).
func memberKindSQL(row string) string {
	return "substr(" + row + ".type, 1, 1) || substr(" + row + ".status, 1, 1)"
}

// kindOf is memberKindSQL in Go.
func kindOf(t UserType, s MemberStatus) string {
	return string(t)[:1] + string(s)[:1]
}

// lcpSQL is the number of leading characters two suffixes share (prev
// may be NULL: 0), as one CASE that stops at the first difference: most
// suffixes differ from their neighbour within a character or two.
func lcpSQL(s, prev string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for n := 1; n <= searchSuffixLength; n++ {
		fmt.Fprintf(&b, " WHEN substr(%s, 1, %d) IS DISTINCT FROM substr(%s, 1, %d) THEN %d", s, n, prev, n, n-1)
	}
	fmt.Fprintf(&b, " ELSE %d END", searchSuffixLength)
	return b.String()
}

// sqliteSuffixes is the SELECT of a membership's search rows (row is NEW
// or OLD): its distinct suffixes, each with its lcp. SQLite triggers
// cannot use a recursive WITH, so the positions come from a table of
// integers.
func sqliteSuffixes(row string) string {
	return `SELECT ` + row + `.account_id, s, ` + row + `.id, ` + lcpSQL("s", "prev") + `, ` + memberKindSQL(row) + `
		FROM (SELECT s, lag(s) OVER (ORDER BY s) AS prev FROM (
			SELECT DISTINCT substr(t.text, p.i, ` + fmt.Sprint(searchSuffixLength) + `) AS s
			FROM (SELECT ` + row + `.sort_name AS text UNION ALL SELECT ` + row + `.email) t
			JOIN text_positions p ON p.i <= length(t.text)
			WHERE substr(t.text, p.i, 1) <> ' '))`
}

// sqliteDeleteSuffixes deletes a membership's search rows.
func sqliteDeleteSuffixes(row string) string {
	return `DELETE FROM member_search WHERE account_id = ` + row + `.account_id AND member_kind = ` + memberKindSQL(row) + `
			AND membership_id = ` + row + `.id AND suffix IN (` + sqliteSuffixSet(rowTexts(row)) + `);`
}

// sqliteSuffixSet is the SELECT of every suffix of a person's name and
// address (texts: a SELECT of the two, as "text"), as member_search cuts
// them, repeats included.
func sqliteSuffixSet(texts string) string {
	return `SELECT substr(t.text, p.i, ` + fmt.Sprint(searchSuffixLength) + `) FROM (` + texts + `) t
			JOIN text_positions p ON p.i <= length(t.text)`
}

// rowTexts is the SELECT of a trigger row's name and address.
func rowTexts(row string) string {
	return `SELECT ` + row + `.sort_name AS text UNION ALL SELECT ` + row + `.email`
}

// memberTexts is the SELECT of the name and address of the membership
// with the given ID, as they are in the table now.
func memberTexts(member string) string {
	return `SELECT sort_name AS text FROM memberships WHERE id = ` + member +
		` UNION ALL SELECT email FROM memberships WHERE id = ` + member
}

// deleteCompanySuffixes deletes a person's company_search rows in the
// companies a condition picks; texts is the SELECT of the name and
// address the rows were made from.
func deleteCompanySuffixes(companies, member, texts string, inSuffixes func(string) string) string {
	return `DELETE FROM company_search WHERE ` + companies + ` AND membership_id = ` + member + `
			AND suffix ` + inSuffixes(texts) + `;`
}

// sqliteCopyCompanySuffixes copies a person's member_search rows to one
// of their companies.
func sqliteCopyCompanySuffixes(company, member string) string {
	return `INSERT INTO company_search (company_id, suffix, membership_id, lcp, member_kind)
			SELECT ` + company + `, s.suffix, s.membership_id, s.lcp, s.member_kind
			FROM memberships m JOIN member_search s ON s.account_id = m.account_id AND s.member_kind = ` + memberKindSQL("m") + `
				AND s.membership_id = m.id
			WHERE m.id = ` + member + ` AND s.suffix ` + sqliteInSuffixes(rowTexts("m")) + `;`
}

// sqliteCopyToCompanies copies the member_search rows of a trigger's row
// to each of the person's companies.
func sqliteCopyToCompanies(row string) string {
	return `INSERT INTO company_search (company_id, suffix, membership_id, lcp, member_kind)
			SELECT a.company_id, s.suffix, s.membership_id, s.lcp, s.member_kind
			FROM assignments a JOIN member_search s ON s.account_id = ` + row + `.account_id AND s.member_kind = ` + memberKindSQL(row) + `
				AND s.membership_id = ` + row + `.id AND s.suffix ` + sqliteInSuffixes(rowTexts(row)) + `
			WHERE a.membership_id = ` + row + `.id;`
}

// sqliteInvitationExpiry sets a membership's invitation_expires_at from
// its live invitation links.
func sqliteInvitationExpiry(member string) string {
	return `UPDATE memberships SET invitation_expires_at = (SELECT MAX(expires_at) FROM tokens
			WHERE membership_id = ` + member + ` AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL)
		WHERE id = ` + member + `;`
}

// sqliteSearchInsert indexes a new person for search; the seeding sets it
// aside while it writes people by the thousand (suspendSearch).
var sqliteSearchInsert = `CREATE TRIGGER IF NOT EXISTS memberships_search_insert AFTER INSERT ON memberships BEGIN
		INSERT INTO member_search (account_id, suffix, membership_id, lcp, member_kind) ` + sqliteSuffixes("NEW") + `;
	END`

// sqliteCompanySearchInsert indexes a new assignment for search, from the
// person's member_search rows; the seeding sets it aside too.
var sqliteCompanySearchInsert = `CREATE TRIGGER IF NOT EXISTS assignments_search_insert AFTER INSERT ON assignments BEGIN
		` + sqliteCopyCompanySuffixes("NEW.company_id", "NEW.membership_id") + `
	END`

var sqliteListSchema = []string{
	// Every trigger is made again at each start, so that it is the
	// current one.
	`DROP TRIGGER IF EXISTS memberships_list_insert`,
	`DROP TRIGGER IF EXISTS memberships_search_insert`,
	`DROP TRIGGER IF EXISTS memberships_list_invited`,
	`DROP TRIGGER IF EXISTS memberships_list_count_update`,
	`DROP TRIGGER IF EXISTS memberships_list_search_update`,
	`DROP TRIGGER IF EXISTS memberships_list_kind_update`,
	`DROP TRIGGER IF EXISTS memberships_list_delete`,
	`DROP TRIGGER IF EXISTS assignments_list_kind`,
	`DROP TRIGGER IF EXISTS tokens_list_insert`,
	`DROP TRIGGER IF EXISTS tokens_list_update`,
	`DROP TRIGGER IF EXISTS tokens_list_delete`,
	`DROP TRIGGER IF EXISTS memberships_list_company_delete`,
	`DROP TRIGGER IF EXISTS assignments_search_insert`,
	`DROP TRIGGER IF EXISTS assignments_search_delete`,
	`DROP TRIGGER IF EXISTS assignments_search_update`,
	// Left by earlier versions: the name-only suffixes and the page
	// cache's versions.
	`DROP TABLE IF EXISTS member_name_suffixes`,
	`DROP TRIGGER IF EXISTS memberships_list_name_update`,
	`DROP TABLE IF EXISTS name_positions`,
	`DROP TABLE IF EXISTS member_list_versions`,
	`DROP TRIGGER IF EXISTS memberships_version_insert`,
	`DROP TRIGGER IF EXISTS memberships_version_update`,
	`DROP TRIGGER IF EXISTS memberships_version_delete`,
	`DROP TRIGGER IF EXISTS assignments_version_insert`,
	`DROP TRIGGER IF EXISTS assignments_version_update`,
	`DROP TRIGGER IF EXISTS assignments_version_delete`,
	`DROP TRIGGER IF EXISTS tokens_version_insert`,
	`DROP TRIGGER IF EXISTS tokens_version_update`,
	`DROP TRIGGER IF EXISTS tokens_version_delete`,
	`DROP TRIGGER IF EXISTS outbox_version_update`,
	`DROP TRIGGER IF EXISTS outbox_version_delete`,
	`DROP INDEX IF EXISTS idx_members_account_type_status_name`,
	`DROP INDEX IF EXISTS idx_members_account_name`,
	`DROP INDEX IF EXISTS idx_members_account_active`,
	`DROP INDEX IF EXISTS idx_assignments_company_member`,

	`CREATE TABLE IF NOT EXISTS member_counts (
		account_id INTEGER NOT NULL,
		type TEXT NOT NULL,
		status TEXT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (account_id, type, status)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS member_search (
		account_id INTEGER NOT NULL,
		member_kind TEXT NOT NULL,
		suffix TEXT NOT NULL,
		membership_id INTEGER NOT NULL,
		lcp INTEGER NOT NULL,
		PRIMARY KEY (account_id, member_kind, suffix, membership_id)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS company_search (
		company_id INTEGER NOT NULL,
		suffix TEXT NOT NULL,
		membership_id INTEGER NOT NULL,
		lcp INTEGER NOT NULL,
		member_kind TEXT NOT NULL,
		PRIMARY KEY (company_id, suffix, membership_id)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS text_positions (i INTEGER PRIMARY KEY)`,
	`INSERT INTO text_positions (i) SELECT n FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ` +
		fmt.Sprint(maxSearchedLength) + `) SELECT n FROM c) WHERE true ON CONFLICT DO NOTHING`,

	`CREATE TRIGGER IF NOT EXISTS memberships_list_insert AFTER INSERT ON memberships BEGIN
		INSERT INTO member_counts (account_id, type, status, n) VALUES (NEW.account_id, NEW.type, NEW.status, 1)
			ON CONFLICT (account_id, type, status) DO UPDATE SET n = n + 1;
	END`,
	sqliteSearchInsert,
	// Every person has an invited date to sort by: a row written without
	// one (none of the console's paths does) takes its creation time.
	`CREATE TRIGGER IF NOT EXISTS memberships_list_invited AFTER INSERT ON memberships
	WHEN NEW.invited_at IS NULL BEGIN
		UPDATE memberships SET invited_at = COALESCE(NEW.created_at, CURRENT_TIMESTAMP) WHERE id = NEW.id;
	END`,
	`CREATE TRIGGER IF NOT EXISTS memberships_list_count_update AFTER UPDATE OF account_id, type, status ON memberships
	WHEN OLD.account_id <> NEW.account_id OR OLD.type <> NEW.type OR OLD.status <> NEW.status BEGIN
		UPDATE member_counts SET n = n - 1 WHERE account_id = OLD.account_id AND type = OLD.type AND status = OLD.status;
		INSERT INTO member_counts (account_id, type, status, n) VALUES (NEW.account_id, NEW.type, NEW.status, 1)
			ON CONFLICT (account_id, type, status) DO UPDATE SET n = n + 1;
	END`,
	// A new name, address, type or status: new search rows; a new type or
	// status: the assignments' kind too.
	`CREATE TRIGGER IF NOT EXISTS memberships_list_search_update AFTER UPDATE OF account_id, sort_name, email, type, status ON memberships
	WHEN OLD.account_id <> NEW.account_id OR OLD.sort_name <> NEW.sort_name OR OLD.email <> NEW.email
		OR OLD.type <> NEW.type OR OLD.status <> NEW.status BEGIN
		` + deleteCompanySuffixes("company_id IN (SELECT company_id FROM assignments WHERE membership_id = OLD.id)", "OLD.id", rowTexts("OLD"), sqliteInSuffixes) + `
		` + sqliteDeleteSuffixes("OLD") + `
		INSERT INTO member_search (account_id, suffix, membership_id, lcp, member_kind) ` + sqliteSuffixes("NEW") + `;
		` + sqliteCopyToCompanies("NEW") + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS memberships_list_kind_update AFTER UPDATE OF type, status ON memberships
	WHEN OLD.type <> NEW.type OR OLD.status <> NEW.status BEGIN
		UPDATE assignments SET member_kind = ` + memberKindSQL("NEW") + ` WHERE membership_id = NEW.id;
	END`,
	// Before the row goes: its assignments are deleted by the cascade
	// before AFTER triggers run, and without the row the assignments'
	// own trigger no longer knows the suffixes.
	`CREATE TRIGGER IF NOT EXISTS memberships_list_company_delete BEFORE DELETE ON memberships BEGIN
		` + deleteCompanySuffixes("company_id IN (SELECT company_id FROM assignments WHERE membership_id = OLD.id)", "OLD.id", rowTexts("OLD"), sqliteInSuffixes) + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS memberships_list_delete AFTER DELETE ON memberships BEGIN
		UPDATE member_counts SET n = n - 1 WHERE account_id = OLD.account_id AND type = OLD.type AND status = OLD.status;
		` + sqliteDeleteSuffixes("OLD") + `
	END`,
	// An assignment written with its kind (the seeding) needs no lookup.
	`CREATE TRIGGER IF NOT EXISTS assignments_list_kind AFTER INSERT ON assignments WHEN NEW.member_kind = '' BEGIN
		UPDATE assignments SET member_kind = (SELECT ` + memberKindSQL("m") + ` FROM memberships m WHERE m.id = NEW.membership_id)
			WHERE membership_id = NEW.membership_id AND company_id = NEW.company_id;
	END`,
	sqliteCompanySearchInsert,
	`CREATE TRIGGER IF NOT EXISTS assignments_search_delete AFTER DELETE ON assignments BEGIN
		` + deleteCompanySuffixes("company_id = OLD.company_id", "OLD.membership_id", memberTexts("OLD.membership_id"), sqliteInSuffixes) + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS assignments_search_update AFTER UPDATE OF membership_id, company_id ON assignments
	WHEN OLD.membership_id <> NEW.membership_id OR OLD.company_id <> NEW.company_id BEGIN
		` + deleteCompanySuffixes("company_id = OLD.company_id", "OLD.membership_id", memberTexts("OLD.membership_id"), sqliteInSuffixes) + `
		` + sqliteCopyCompanySuffixes("NEW.company_id", "NEW.membership_id") + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS tokens_list_insert AFTER INSERT ON tokens
	WHEN NEW.purpose = 'invitation' AND NEW.membership_id IS NOT NULL BEGIN
		` + sqliteInvitationExpiry("NEW.membership_id") + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS tokens_list_update AFTER UPDATE OF membership_id, expires_at, used_at, revoked_at ON tokens
	WHEN NEW.purpose = 'invitation' OR OLD.purpose = 'invitation' BEGIN
		` + sqliteInvitationExpiry("OLD.membership_id") + `
		` + sqliteInvitationExpiry("NEW.membership_id") + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS tokens_list_delete AFTER DELETE ON tokens
	WHEN OLD.purpose = 'invitation' AND OLD.membership_id IS NOT NULL BEGIN
		` + sqliteInvitationExpiry("OLD.membership_id") + `
	END`,
}

// postgresSuffixes is sqliteSuffixes on PostgreSQL ("C" collation: byte
// order, whatever the database's locale).
func postgresSuffixes(row string) string {
	return postgresSuffixRows(row+".account_id", row)
}

// postgresSuffixRows is postgresSuffixes with another first column (an
// account or a company), its columns named c, s, id, lcp and kind.
func postgresSuffixRows(first, row string) string {
	return `SELECT ` + first + ` AS c, s, ` + row + `.id AS id, ` + lcpSQL("s", "prev") + ` AS lcp, ` + memberKindSQL(row) + ` AS kind
		FROM (SELECT s, lag(s) OVER (ORDER BY s COLLATE "C") AS prev FROM (
			SELECT DISTINCT substr(t, i, ` + fmt.Sprint(searchSuffixLength) + `) AS s
			FROM unnest(ARRAY[` + row + `.sort_name, ` + row + `.email]) t, generate_series(1, length(t)) i
			WHERE substr(t, i, 1) <> ' ') d) o`
}

// postgresSuffixSet is sqliteSuffixSet on PostgreSQL.
func postgresSuffixSet(texts string) string {
	return `SELECT substr(t.text, i, ` + fmt.Sprint(searchSuffixLength) + `) FROM (` + texts + `) t, generate_series(1, length(t.text)) i`
}

// postgresInSuffixes is the condition "suffix is one of these" on
// PostgreSQL: as an array, so that the primary key is searched once for
// each (an IN over a subquery may be planned as a scan of the company's
// whole range, checking each entry).
func postgresInSuffixes(texts string) string {
	return `= ANY (ARRAY(` + postgresSuffixSet(texts) + `))`
}

// sqliteInSuffixes is postgresInSuffixes on SQLite, which searches the
// key for each value of an IN list.
func sqliteInSuffixes(texts string) string {
	return `IN (` + sqliteSuffixSet(texts) + `)`
}

var postgresListSchema = []string{
	`DROP TABLE IF EXISTS member_name_suffixes`,
	`DROP TRIGGER IF EXISTS memberships_suffixes ON memberships`,
	`DROP FUNCTION IF EXISTS switchboard_member_suffixes()`,
	`DROP TRIGGER IF EXISTS memberships_a_list_version ON memberships`,
	`DROP TRIGGER IF EXISTS memberships_list_version ON memberships`,
	`DROP TRIGGER IF EXISTS assignments_list_version ON assignments`,
	`DROP TRIGGER IF EXISTS tokens_list_version ON tokens`,
	`DROP TRIGGER IF EXISTS outbox_list_version ON outbox_messages`,
	`DROP FUNCTION IF EXISTS switchboard_member_list_version()`,
	`DROP FUNCTION IF EXISTS switchboard_bump_member_list(BIGINT)`,
	`DROP TABLE IF EXISTS member_list_versions`,
	`DROP INDEX IF EXISTS idx_members_account_type_status_name`,
	`DROP INDEX IF EXISTS idx_members_account_name`,
	`DROP INDEX IF EXISTS idx_members_account_active`,
	`DROP INDEX IF EXISTS idx_members_account_email_bytes`,
	`DROP INDEX IF EXISTS idx_assignments_company_member`,

	`CREATE TABLE IF NOT EXISTS member_counts (
		account_id BIGINT NOT NULL,
		type TEXT NOT NULL,
		status TEXT NOT NULL,
		n BIGINT NOT NULL,
		PRIMARY KEY (account_id, type, status)
	)`,
	`CREATE TABLE IF NOT EXISTS member_search (
		account_id BIGINT NOT NULL,
		member_kind TEXT NOT NULL,
		suffix TEXT COLLATE "C" NOT NULL,
		membership_id BIGINT NOT NULL,
		lcp SMALLINT NOT NULL,
		PRIMARY KEY (account_id, member_kind, suffix, membership_id) INCLUDE (lcp)
	)`,
	// Email order and ranges compare bytes, as on SQLite.
	`CREATE TABLE IF NOT EXISTS company_search (
		company_id BIGINT NOT NULL,
		suffix TEXT COLLATE "C" NOT NULL,
		membership_id BIGINT NOT NULL,
		lcp SMALLINT NOT NULL,
		member_kind TEXT NOT NULL,
		PRIMARY KEY (company_id, suffix, membership_id) INCLUDE (lcp, member_kind)
	)`,
	`CREATE INDEX IF NOT EXISTS idx_members_list_email_bytes ON memberships (account_id, (email COLLATE "C"), id)`,
	`CREATE OR REPLACE FUNCTION switchboard_member_counts() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.account_id <> NEW.account_id OR OLD.type <> NEW.type OR OLD.status <> NEW.status) THEN
			UPDATE member_counts SET n = n - 1 WHERE account_id = OLD.account_id AND type = OLD.type AND status = OLD.status;
		END IF;
		IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR OLD.account_id <> NEW.account_id OR OLD.type <> NEW.type OR OLD.status <> NEW.status) THEN
			INSERT INTO member_counts (account_id, type, status, n) VALUES (NEW.account_id, NEW.type, NEW.status, 1)
				ON CONFLICT (account_id, type, status) DO UPDATE SET n = member_counts.n + 1;
		END IF;
		RETURN NULL;
	END $$`,
	`CREATE OR REPLACE FUNCTION switchboard_member_search() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP = 'UPDATE' AND OLD.account_id = NEW.account_id AND OLD.sort_name = NEW.sort_name AND OLD.email = NEW.email
			AND OLD.type = NEW.type AND OLD.status = NEW.status THEN
			RETURN NULL;
		END IF;
		IF TG_OP <> 'INSERT' THEN
			` + deleteCompanySuffixes("company_id = ANY (ARRAY(SELECT company_id FROM assignments WHERE membership_id = OLD.id))", "OLD.id", rowTexts("OLD"), postgresInSuffixes) + `
			DELETE FROM member_search WHERE account_id = OLD.account_id AND member_kind = ` + memberKindSQL("OLD") + `
				AND membership_id = OLD.id AND suffix IN (` + postgresSuffixSet(rowTexts("OLD")) + `);
		END IF;
		IF TG_OP = 'DELETE' THEN
			RETURN NULL;
		END IF;
		INSERT INTO member_search (account_id, suffix, membership_id, lcp, member_kind) ` + postgresSuffixes("NEW") + `;
		IF TG_OP = 'UPDATE' THEN
			INSERT INTO company_search (company_id, suffix, membership_id, lcp, member_kind)
				SELECT a.company_id, x.s, x.id, x.lcp, x.kind FROM assignments a, (` + postgresSuffixRows("0", "NEW") + `) x
				WHERE a.membership_id = NEW.id;
		END IF;
		IF TG_OP = 'UPDATE' AND (OLD.type <> NEW.type OR OLD.status <> NEW.status) THEN
			UPDATE assignments SET member_kind = ` + memberKindSQL("NEW") + ` WHERE membership_id = NEW.id;
		END IF;
		RETURN NULL;
	END $$`,
	// Before the row goes, as on SQLite: the cascade deletes the
	// assignments before the AFTER triggers run.
	`CREATE OR REPLACE FUNCTION switchboard_member_company_delete() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		` + deleteCompanySuffixes("company_id = ANY (ARRAY(SELECT company_id FROM assignments WHERE membership_id = OLD.id))", "OLD.id", rowTexts("OLD"), postgresInSuffixes) + `
		RETURN OLD;
	END $$`,
	// The person's rows are made again from their name and address rather
	// than copied from member_search: a query on a row variable is planned
	// with its values as constants.
	`CREATE OR REPLACE FUNCTION switchboard_assignment_search() RETURNS trigger LANGUAGE plpgsql AS $$
	DECLARE
		m memberships%ROWTYPE;
	BEGIN
		IF TG_OP <> 'INSERT' THEN
			` + deleteCompanySuffixes("company_id = OLD.company_id", "OLD.membership_id", memberTexts("OLD.membership_id"), postgresInSuffixes) + `
		END IF;
		IF TG_OP <> 'DELETE' THEN
			SELECT * INTO m FROM memberships WHERE id = NEW.membership_id;
			IF FOUND THEN
				INSERT INTO company_search (company_id, suffix, membership_id, lcp, member_kind) ` + postgresSuffixRows("NEW.company_id", "m") + `;
			END IF;
		END IF;
		RETURN NULL;
	END $$`,
	`CREATE OR REPLACE FUNCTION switchboard_member_invited() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		NEW.invited_at := COALESCE(NEW.invited_at, NEW.created_at, now());
		RETURN NEW;
	END $$`,
	`CREATE OR REPLACE FUNCTION switchboard_assignment_kind() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NEW.member_kind = '' THEN
			NEW.member_kind := (SELECT ` + memberKindSQL("m") + ` FROM memberships m WHERE m.id = NEW.membership_id);
		END IF;
		RETURN NEW;
	END $$`,
	`CREATE OR REPLACE FUNCTION switchboard_invitation_expiry() RETURNS trigger LANGUAGE plpgsql AS $$
	DECLARE
		member BIGINT;
	BEGIN
		FOREACH member IN ARRAY ARRAY[CASE WHEN TG_OP <> 'INSERT' AND OLD.purpose = 'invitation' THEN OLD.membership_id END,
			CASE WHEN TG_OP <> 'DELETE' AND NEW.purpose = 'invitation' THEN NEW.membership_id END] LOOP
			IF member IS NOT NULL THEN
				UPDATE memberships SET invitation_expires_at = (SELECT MAX(expires_at) FROM tokens
					WHERE membership_id = member AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL)
				WHERE id = member;
			END IF;
		END LOOP;
		RETURN NULL;
	END $$`,
	// The count row of an account's (type, status) is shared by everyone
	// adding people to it; updated at commit rather than at the INSERT,
	// its lock is held for an instant instead of the whole transaction.
	`DROP TRIGGER IF EXISTS memberships_counts ON memberships`,
	`CREATE CONSTRAINT TRIGGER memberships_counts AFTER INSERT OR UPDATE OR DELETE ON memberships
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_counts()`,
	`DROP TRIGGER IF EXISTS memberships_search ON memberships`,
	`CREATE TRIGGER memberships_search AFTER INSERT OR UPDATE OR DELETE ON memberships
		FOR EACH ROW EXECUTE FUNCTION switchboard_member_search()`,
	`DROP TRIGGER IF EXISTS memberships_company_delete ON memberships`,
	`CREATE TRIGGER memberships_company_delete BEFORE DELETE ON memberships
		FOR EACH ROW EXECUTE FUNCTION switchboard_member_company_delete()`,
	`DROP TRIGGER IF EXISTS assignments_search ON assignments`,
	`CREATE TRIGGER assignments_search AFTER INSERT OR DELETE OR UPDATE OF membership_id, company_id ON assignments
		FOR EACH ROW EXECUTE FUNCTION switchboard_assignment_search()`,
	`DROP TRIGGER IF EXISTS memberships_invited ON memberships`,
	`CREATE TRIGGER memberships_invited BEFORE INSERT ON memberships
		FOR EACH ROW EXECUTE FUNCTION switchboard_member_invited()`,
	`DROP TRIGGER IF EXISTS assignments_kind ON assignments`,
	`CREATE TRIGGER assignments_kind BEFORE INSERT ON assignments
		FOR EACH ROW EXECUTE FUNCTION switchboard_assignment_kind()`,
	`DROP TRIGGER IF EXISTS tokens_invitation_expiry ON tokens`,
	`CREATE TRIGGER tokens_invitation_expiry AFTER INSERT OR UPDATE OR DELETE ON tokens
		FOR EACH ROW EXECUTE FUNCTION switchboard_invitation_expiry()`,
}

// migrateListSchema creates the derived tables and their triggers, and
// fills them from the rows already there when they are new. It runs inside
// the migration's transaction (migrate).
func (s *Store) migrateListSchema(tx *gorm.DB) error {
	freshCounts := !tx.Migrator().HasTable("member_counts")
	freshSearch := !tx.Migrator().HasTable("member_search")
	freshCompanySearch := !tx.Migrator().HasTable("company_search")
	ddl := sqliteListSchema
	if s.Dialect == "postgres" {
		ddl = postgresListSchema
	}
	for _, stmt := range ddl {
		if err := tx.Exec(stmt).Error; err != nil {
			return fmt.Errorf("migrate users list schema: %w", err)
		}
	}
	if freshCounts {
		if err := tx.Exec(`INSERT INTO member_counts (account_id, type, status, n)
			SELECT account_id, type, status, COUNT(*) FROM memberships GROUP BY account_id, type, status`).Error; err != nil {
			return fmt.Errorf("fill member counts: %w", err)
		}
	}
	if freshSearch {
		err := tx.Exec(`INSERT INTO member_search (account_id, suffix, membership_id, lcp, member_kind) ` + s.suffixesWhere("true")).Error
		if err != nil {
			return fmt.Errorf("fill member search: %w", err)
		}
	}
	if freshCompanySearch {
		if err := tx.Exec(s.companySuffixesWhere("true")).Error; err != nil {
			return fmt.Errorf("fill company search: %w", err)
		}
	}
	// Derived columns of rows from before them; each statement finds
	// nothing to do once done.
	for _, stmt := range []string{
		`UPDATE assignments SET member_kind = (SELECT ` + memberKindSQL("m") + ` FROM memberships m WHERE m.id = assignments.membership_id)
			WHERE member_kind = ''`,
		`UPDATE memberships SET invitation_expires_at = (SELECT MAX(expires_at) FROM tokens
			WHERE membership_id = memberships.id AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL)
			WHERE status = 'invited' AND invitation_expires_at IS NULL`,
		`UPDATE memberships SET invited_at = created_at WHERE invited_at IS NULL`,
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return fmt.Errorf("fill users list columns: %w", err)
		}
	}
	return nil
}

// suffixesWhere is the SELECT of the search rows of the memberships a
// condition picks (on memberships), in index order: the triggers' rows,
// each person in a window of their own. It fills member_search when it is
// new, and after the seeding (suspendSearch).
func (s *Store) suffixesWhere(cond string) string {
	order := "s"
	if s.Dialect == "postgres" {
		order = `s COLLATE "C"`
	}
	return `SELECT account_id, s, id, lcp, kind FROM (` + s.suffixRowsWhere(cond) + `) o ORDER BY account_id, kind, ` + order + `, id`
}

// suffixRowsWhere is suffixesWhere in no order, its columns named
// account_id, s, id, lcp and kind.
func (s *Store) suffixRowsWhere(cond string) string {
	k := fmt.Sprint(searchSuffixLength)
	positions, order := "text_positions p ON p.i <= length(t.text)", "s"
	if s.Dialect == "postgres" {
		positions, order = "generate_series(1, length(t.text)) AS p(i) ON true", `s COLLATE "C"`
	}
	return `SELECT account_id, s, id, ` + lcpSQL("s", "prev") + ` AS lcp, kind
		FROM (SELECT account_id, id, kind, s, lag(s) OVER (PARTITION BY id ORDER BY ` + order + `) AS prev FROM (
			SELECT DISTINCT t.account_id, t.id, t.kind, substr(t.text, p.i, ` + k + `) AS s
			FROM (SELECT account_id, id, ` + memberKindSQL("memberships") + ` AS kind, sort_name AS text FROM memberships WHERE ` + cond + `
				UNION ALL SELECT account_id, id, ` + memberKindSQL("memberships") + `, email FROM memberships WHERE ` + cond + `) t
			JOIN ` + positions + `
			WHERE substr(t.text, p.i, 1) <> ' ') d) i`
}

// companySuffixesWhere is the INSERT of the company_search rows of the
// assignments a condition picks (on assignments, without a prefix: it is
// written three times, so its arguments are given three times), in index
// order.
func (s *Store) companySuffixesWhere(cond string) string {
	order := "o.s"
	if s.Dialect == "postgres" {
		order = `o.s COLLATE "C"`
	}
	return `INSERT INTO company_search (company_id, suffix, membership_id, lcp, member_kind)
		SELECT a.company_id, o.s, o.id, o.lcp, o.kind
		FROM (` + s.suffixRowsWhere("id IN (SELECT membership_id FROM assignments WHERE "+cond+")") + `) o
		JOIN (SELECT membership_id, company_id FROM assignments WHERE ` + cond + `) a ON a.membership_id = o.id
		ORDER BY a.company_id, ` + order + `, o.id`
}

// indexCompanies fills company_search for the assignments of the given
// companies, made while suspendSearch held the assignments' trigger off:
// a few companies a statement, in the index's order, so that the rows are
// appended rather than spread over the whole table.
func (s *Store) indexCompanies(tx *gorm.DB, companies []uint) error {
	const chunk = 25
	for i := 0; i < len(companies); i += chunk {
		part := companies[i:min(i+chunk, len(companies))]
		list := make([]string, len(part))
		for j, id := range part {
			list[j] = fmt.Sprint(id)
		}
		cond := "company_id IN (" + strings.Join(list, ",") + ")"
		if err := tx.Exec(s.companySuffixesWhere(cond)).Error; err != nil {
			return fmt.Errorf("index people for search by company: %w", err)
		}
	}
	return nil
}

// suspendSearch sets aside the indexing of new people and assignments for
// search, inside a transaction that writes people by the thousand: indexed
// one by one, each person's rows land all over a large index; indexed
// together, they are written in its order. index indexes the people with
// IDs from first on; resume puts the triggers back, in the same
// transaction. The assignments made meanwhile are indexed by
// indexCompanies, once all of them are written.
func (s *Store) suspendSearch(tx *gorm.DB) (index func(first uint) error, resume func() error, err error) {
	suspend := []string{"DROP TRIGGER memberships_search_insert", "DROP TRIGGER assignments_search_insert"}
	restore := []string{sqliteSearchInsert, sqliteCompanySearchInsert}
	if s.Dialect == "postgres" {
		suspend = []string{"ALTER TABLE memberships DISABLE TRIGGER memberships_search", "ALTER TABLE assignments DISABLE TRIGGER assignments_search"}
		restore = []string{"ALTER TABLE memberships ENABLE TRIGGER memberships_search", "ALTER TABLE assignments ENABLE TRIGGER assignments_search"}
	}
	for _, stmt := range suspend {
		if err := tx.Exec(stmt).Error; err != nil {
			return nil, nil, fmt.Errorf("suspend search indexing: %w", err)
		}
	}
	// The people written since first have no search rows yet. Their
	// assignments have none under their companies either: the caller
	// fills those at the end (indexCompanies).
	index = func(first uint) error {
		if err := tx.Exec(`INSERT INTO member_search (account_id, suffix, membership_id, lcp, member_kind) `+
			s.suffixesWhere("id >= ?"), first, first).Error; err != nil {
			return fmt.Errorf("index new people for search: %w", err)
		}
		return nil
	}
	resume = func() error {
		if s.Dialect == "postgres" {
			// PostgreSQL will not alter a table with deferred trigger events
			// pending (the counts raised at commit): fire them now.
			if err := tx.Exec("SET CONSTRAINTS ALL IMMEDIATE").Error; err != nil {
				return fmt.Errorf("resume search indexing: %w", err)
			}
		}
		for _, stmt := range restore {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("resume search indexing: %w", err)
			}
		}
		return nil
	}
	return index, resume, nil
}
