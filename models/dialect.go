package models

// This file is the one place where SQL differs between SQLite and
// PostgreSQL. Everything else in models is portable.
//
// It keeps two derived tables that make the users list fast at 100,000
// people per account, maintained by triggers so that every path that
// creates, changes or deletes a membership (the wizard, invitations, access
// requests, edit/promote/disable/delete, cascades from a deleted account,
// bulk seeding, test fixtures) keeps them right in the same transaction,
// with no call anyone could forget:
//
//   - member_counts: people per (account, type, status). The list's total
//     is a sum over at most twelve rows instead of a COUNT over the account.
//   - member_name_suffixes: every suffix of each person's sort_name, cut to
//     nameSuffixLength characters. "Name contains q" becomes "some suffix
//     starts with q": one index range, with an exact count.
//
// and two version numbers per account, raised in the same transaction as
// the change, so the server can keep what it read in memory and know with
// a primary-key read whether it is still current:
//
//   - company_list_versions: any change to the account's companies;
//   - member_list_versions: any change to what the users list shows of its
//     people (memberships, their companies, invitation links, and emails
//     that keep failing to arrive).

import (
	"fmt"
	"slices"
	"strconv"

	"gorm.io/gorm"
)

// nameSuffixLength is how much of each suffix is kept. A search longer than
// this finds candidates by its first nameSuffixLength characters, which are
// then checked in full.
const nameSuffixLength = 12

// maxSortNameLength bounds the positions a suffix can start at.
const maxSortNameLength = 2*MaxNameLength + 1

var sqliteListSchema = slices.Concat(
	sqliteListTables,
	sqliteVersionTriggers("companies", sqliteBumpCompanies, "account_id"),
	sqliteVersionTriggers("memberships", sqliteBumpMembers, "account_id"),
	// A membership deleted with its assignments is counted by its own
	// trigger; these find no membership then, and insert nothing.
	sqliteVersionTriggers("assignments", sqliteBumpMembersOf, "membership_id"))

var sqliteListTables = []string{
	`CREATE TABLE IF NOT EXISTS member_counts (
		account_id INTEGER NOT NULL,
		type TEXT NOT NULL,
		status TEXT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (account_id, type, status)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS member_name_suffixes (
		account_id INTEGER NOT NULL,
		suffix TEXT NOT NULL,
		membership_id INTEGER NOT NULL,
		PRIMARY KEY (account_id, suffix, membership_id)
	) WITHOUT ROWID`,
	// SQLite triggers cannot use a recursive WITH, so the positions a
	// suffix may start at come from a table of integers.
	`CREATE TABLE IF NOT EXISTS name_positions (i INTEGER PRIMARY KEY)`,
	`INSERT INTO name_positions (i) SELECT n FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ` +
		fmt.Sprint(maxSortNameLength) + `) SELECT n FROM c) WHERE true ON CONFLICT DO NOTHING`,
	`CREATE TRIGGER IF NOT EXISTS memberships_list_insert AFTER INSERT ON memberships BEGIN
		INSERT INTO member_counts (account_id, type, status, n) VALUES (NEW.account_id, NEW.type, NEW.status, 1)
			ON CONFLICT (account_id, type, status) DO UPDATE SET n = n + 1;
		INSERT INTO member_name_suffixes (account_id, suffix, membership_id)
			SELECT NEW.account_id, substr(NEW.sort_name, i, ` + fmt.Sprint(nameSuffixLength) + `), NEW.id FROM name_positions
			WHERE i <= length(NEW.sort_name) AND substr(NEW.sort_name, i, 1) <> ' '
			ON CONFLICT DO NOTHING;
	END`,
	`CREATE TRIGGER IF NOT EXISTS memberships_list_count_update AFTER UPDATE OF account_id, type, status ON memberships
	WHEN OLD.account_id <> NEW.account_id OR OLD.type <> NEW.type OR OLD.status <> NEW.status BEGIN
		UPDATE member_counts SET n = n - 1 WHERE account_id = OLD.account_id AND type = OLD.type AND status = OLD.status;
		INSERT INTO member_counts (account_id, type, status, n) VALUES (NEW.account_id, NEW.type, NEW.status, 1)
			ON CONFLICT (account_id, type, status) DO UPDATE SET n = n + 1;
	END`,
	`CREATE TRIGGER IF NOT EXISTS memberships_list_name_update AFTER UPDATE OF account_id, sort_name ON memberships
	WHEN OLD.account_id <> NEW.account_id OR OLD.sort_name <> NEW.sort_name BEGIN
		DELETE FROM member_name_suffixes WHERE account_id = OLD.account_id AND membership_id = OLD.id AND suffix IN (
			SELECT substr(OLD.sort_name, i, ` + fmt.Sprint(nameSuffixLength) + `) FROM name_positions WHERE i <= length(OLD.sort_name));
		INSERT INTO member_name_suffixes (account_id, suffix, membership_id)
			SELECT NEW.account_id, substr(NEW.sort_name, i, ` + fmt.Sprint(nameSuffixLength) + `), NEW.id FROM name_positions
			WHERE i <= length(NEW.sort_name) AND substr(NEW.sort_name, i, 1) <> ' '
			ON CONFLICT DO NOTHING;
	END`,
	`CREATE TRIGGER IF NOT EXISTS memberships_list_delete AFTER DELETE ON memberships BEGIN
		UPDATE member_counts SET n = n - 1 WHERE account_id = OLD.account_id AND type = OLD.type AND status = OLD.status;
		DELETE FROM member_name_suffixes WHERE account_id = OLD.account_id AND membership_id = OLD.id AND suffix IN (
			SELECT substr(OLD.sort_name, i, ` + fmt.Sprint(nameSuffixLength) + `) FROM name_positions WHERE i <= length(OLD.sort_name));
	END`,
	`CREATE TABLE IF NOT EXISTS company_list_versions (account_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS member_list_versions (account_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)`,
	`CREATE TRIGGER IF NOT EXISTS tokens_version_insert AFTER INSERT ON tokens
	WHEN NEW.purpose = 'invitation' AND NEW.account_id IS NOT NULL BEGIN
		` + sqliteBumpMembers("NEW.account_id") + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS tokens_version_update AFTER UPDATE ON tokens
	WHEN NEW.purpose = 'invitation' AND NEW.account_id IS NOT NULL BEGIN
		` + sqliteBumpMembers("NEW.account_id") + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS tokens_version_delete AFTER DELETE ON tokens
	WHEN OLD.purpose = 'invitation' AND OLD.account_id IS NOT NULL BEGIN
		` + sqliteBumpMembers("OLD.account_id") + `
	END`,
	// Only emails that keep failing show on the list; the attempts before
	// that change nothing there.
	`CREATE TRIGGER IF NOT EXISTS outbox_version_update AFTER UPDATE ON outbox_messages
	WHEN NEW.account_id IS NOT NULL AND (NEW.attempts >= ` + fmt.Sprint(failingAfter) + ` OR OLD.attempts >= ` + fmt.Sprint(failingAfter) + `) BEGIN
		` + sqliteBumpMembers("NEW.account_id") + `
	END`,
	`CREATE TRIGGER IF NOT EXISTS outbox_version_delete AFTER DELETE ON outbox_messages
	WHEN OLD.account_id IS NOT NULL AND OLD.attempts >= ` + fmt.Sprint(failingAfter) + ` BEGIN
		` + sqliteBumpMembers("OLD.account_id") + `
	END`,
}

// sqliteVersionTriggers raise a version (bump) on every insert, update and
// delete of table, finding the account through its column col.
func sqliteVersionTriggers(table string, bump func(string) string, col string) []string {
	return []string{
		`CREATE TRIGGER IF NOT EXISTS ` + table + `_version_insert AFTER INSERT ON ` + table + ` BEGIN
		` + bump("NEW."+col) + `
	END`,
		`CREATE TRIGGER IF NOT EXISTS ` + table + `_version_update AFTER UPDATE ON ` + table + ` BEGIN
		` + bump("OLD."+col) + `
		` + bump("NEW."+col) + `
	END`,
		`CREATE TRIGGER IF NOT EXISTS ` + table + `_version_delete AFTER DELETE ON ` + table + ` BEGIN
		` + bump("OLD."+col) + `
	END`,
	}
}

// sqliteBumpCompanies raises the company list version of the account.
func sqliteBumpCompanies(account string) string {
	return `INSERT INTO company_list_versions (account_id, version) VALUES (` + account + `, 1)
			ON CONFLICT (account_id) DO UPDATE SET version = version + 1;`
}

// sqliteBumpMembers raises the member list version of the account.
func sqliteBumpMembers(account string) string {
	return `INSERT INTO member_list_versions (account_id, version) VALUES (` + account + `, 1)
			ON CONFLICT (account_id) DO UPDATE SET version = version + 1;`
}

// sqliteBumpMembersOf raises the member list version of a membership's account.
func sqliteBumpMembersOf(membership string) string {
	return `INSERT INTO member_list_versions (account_id, version) SELECT account_id, 1 FROM memberships WHERE id = ` + membership + `
			ON CONFLICT (account_id) DO UPDATE SET version = version + 1;`
}

var postgresListSchema = []string{
	`CREATE TABLE IF NOT EXISTS member_counts (
		account_id BIGINT NOT NULL,
		type TEXT NOT NULL,
		status TEXT NOT NULL,
		n BIGINT NOT NULL,
		PRIMARY KEY (account_id, type, status)
	)`,
	// "C" collation: suffix ranges compare bytes, whatever the database's locale.
	`CREATE TABLE IF NOT EXISTS member_name_suffixes (
		account_id BIGINT NOT NULL,
		suffix TEXT COLLATE "C" NOT NULL,
		membership_id BIGINT NOT NULL,
		PRIMARY KEY (account_id, suffix, membership_id)
	)`,
	// The email-prefix range needs byte order too.
	`CREATE INDEX IF NOT EXISTS idx_members_account_email_bytes ON memberships (account_id, (email COLLATE "C"))`,
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
	`CREATE OR REPLACE FUNCTION switchboard_member_suffixes() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.account_id <> NEW.account_id OR OLD.sort_name <> NEW.sort_name) THEN
			DELETE FROM member_name_suffixes WHERE account_id = OLD.account_id AND membership_id = OLD.id AND suffix IN (
				SELECT substr(OLD.sort_name, i, ` + fmt.Sprint(nameSuffixLength) + `) FROM generate_series(1, length(OLD.sort_name)) AS i);
		END IF;
		IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR OLD.account_id <> NEW.account_id OR OLD.sort_name <> NEW.sort_name) THEN
			INSERT INTO member_name_suffixes (account_id, suffix, membership_id)
				SELECT NEW.account_id, substr(NEW.sort_name, i, ` + fmt.Sprint(nameSuffixLength) + `), NEW.id
				FROM generate_series(1, length(NEW.sort_name)) AS i WHERE substr(NEW.sort_name, i, 1) <> ' '
				ON CONFLICT DO NOTHING;
		END IF;
		RETURN NULL;
	END $$`,
	// The count row of an account's (type, status) is shared by everyone
	// adding people to it; updated at commit rather than at the INSERT,
	// its lock is held for an instant instead of the whole transaction.
	`DROP TRIGGER IF EXISTS memberships_counts ON memberships`,
	`CREATE CONSTRAINT TRIGGER memberships_counts AFTER INSERT OR UPDATE OR DELETE ON memberships
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_counts()`,
	`DROP TRIGGER IF EXISTS memberships_suffixes ON memberships`,
	`CREATE TRIGGER memberships_suffixes AFTER INSERT OR UPDATE OR DELETE ON memberships
		FOR EACH ROW EXECUTE FUNCTION switchboard_member_suffixes()`,
	`CREATE TABLE IF NOT EXISTS company_list_versions (account_id BIGINT PRIMARY KEY, version BIGINT NOT NULL)`,
	`CREATE OR REPLACE FUNCTION switchboard_company_version() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP <> 'INSERT' THEN
			INSERT INTO company_list_versions (account_id, version) VALUES (OLD.account_id, 1)
				ON CONFLICT (account_id) DO UPDATE SET version = company_list_versions.version + 1;
		END IF;
		IF TG_OP <> 'DELETE' THEN
			INSERT INTO company_list_versions (account_id, version) VALUES (NEW.account_id, 1)
				ON CONFLICT (account_id) DO UPDATE SET version = company_list_versions.version + 1;
		END IF;
		RETURN NULL;
	END $$`,
	`DROP TRIGGER IF EXISTS companies_version ON companies`,
	`CREATE TRIGGER companies_version AFTER INSERT OR UPDATE OR DELETE ON companies
		FOR EACH ROW EXECUTE FUNCTION switchboard_company_version()`,
	`CREATE TABLE IF NOT EXISTS member_list_versions (account_id BIGINT PRIMARY KEY, version BIGINT NOT NULL)`,
	`CREATE OR REPLACE FUNCTION switchboard_bump_member_list(account BIGINT) RETURNS void LANGUAGE sql AS $$
		INSERT INTO member_list_versions (account_id, version) SELECT account, 1 WHERE account IS NOT NULL
			ON CONFLICT (account_id) DO UPDATE SET version = member_list_versions.version + 1
	$$`,
	// One function for the four tables: each names the account its own way.
	`CREATE OR REPLACE FUNCTION switchboard_member_list_version() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_TABLE_NAME = 'memberships' THEN
			IF TG_OP <> 'INSERT' THEN PERFORM switchboard_bump_member_list(OLD.account_id); END IF;
			IF TG_OP <> 'DELETE' THEN PERFORM switchboard_bump_member_list(NEW.account_id); END IF;
		ELSIF TG_TABLE_NAME = 'assignments' THEN
			IF TG_OP <> 'INSERT' THEN
				PERFORM switchboard_bump_member_list((SELECT account_id FROM memberships WHERE id = OLD.membership_id));
			END IF;
			IF TG_OP <> 'DELETE' THEN
				PERFORM switchboard_bump_member_list((SELECT account_id FROM memberships WHERE id = NEW.membership_id));
			END IF;
		ELSIF TG_TABLE_NAME = 'tokens' THEN
			IF TG_OP = 'DELETE' THEN
				IF OLD.purpose = 'invitation' THEN PERFORM switchboard_bump_member_list(OLD.account_id); END IF;
			ELSIF NEW.purpose = 'invitation' THEN
				PERFORM switchboard_bump_member_list(NEW.account_id);
			END IF;
		ELSIF TG_TABLE_NAME = 'outbox_messages' THEN
			IF TG_OP = 'DELETE' THEN
				IF OLD.attempts >= ` + fmt.Sprint(failingAfter) + ` THEN PERFORM switchboard_bump_member_list(OLD.account_id); END IF;
			ELSIF NEW.attempts >= ` + fmt.Sprint(failingAfter) + ` OR OLD.attempts >= ` + fmt.Sprint(failingAfter) + ` THEN
				PERFORM switchboard_bump_member_list(NEW.account_id);
			END IF;
		END IF;
		RETURN NULL;
	END $$`,
	// Deferred to commit, like the counts: the version row of an account
	// is shared by everyone changing its people.
	// PostgreSQL fires a row's triggers in name order: this one is named to
	// come before memberships_counts, so every transaction locks the
	// account's version row before its count rows, and two transactions
	// (an invitation accepted while a person is added) cannot each hold
	// what the other waits for.
	`DROP TRIGGER IF EXISTS memberships_list_version ON memberships`,
	`DROP TRIGGER IF EXISTS memberships_a_list_version ON memberships`,
	`CREATE CONSTRAINT TRIGGER memberships_a_list_version AFTER INSERT OR UPDATE OR DELETE ON memberships
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_list_version()`,
	`DROP TRIGGER IF EXISTS assignments_list_version ON assignments`,
	`CREATE CONSTRAINT TRIGGER assignments_list_version AFTER INSERT OR UPDATE OR DELETE ON assignments
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_list_version()`,
	`DROP TRIGGER IF EXISTS tokens_list_version ON tokens`,
	`CREATE CONSTRAINT TRIGGER tokens_list_version AFTER INSERT OR UPDATE OR DELETE ON tokens
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_list_version()`,
	`DROP TRIGGER IF EXISTS outbox_list_version ON outbox_messages`,
	`CREATE CONSTRAINT TRIGGER outbox_list_version AFTER UPDATE OR DELETE ON outbox_messages
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_list_version()`,
}

// migrateListIndexes creates the derived tables and their triggers, and
// fills them from the memberships already there when they are new. It runs
// inside the migration's transaction (migrate).
func (s *Store) migrateListIndexes(tx *gorm.DB) error {
	fresh := !tx.Migrator().HasTable("member_counts")
	ddl := sqliteListSchema
	if s.Dialect == "postgres" {
		ddl = postgresListSchema
	}
	for _, stmt := range ddl {
		if err := tx.Exec(stmt).Error; err != nil {
			return fmt.Errorf("migrate users list indexes: %w", err)
		}
	}
	if !fresh {
		return nil
	}
	if err := tx.Exec(`INSERT INTO member_counts (account_id, type, status, n)
		SELECT account_id, type, status, COUNT(*) FROM memberships GROUP BY account_id, type, status`).Error; err != nil {
		return fmt.Errorf("fill member counts: %w", err)
	}
	positions := "name_positions p"
	if s.Dialect == "postgres" {
		positions = fmt.Sprintf("generate_series(1, %d) AS p(i)", maxSortNameLength)
	}
	err := tx.Exec(`INSERT INTO member_name_suffixes (account_id, suffix, membership_id)
		SELECT m.account_id, substr(m.sort_name, p.i, ?), m.id FROM memberships m JOIN `+positions+` ON p.i <= length(m.sort_name)
		WHERE substr(m.sort_name, p.i, 1) <> ' ' ON CONFLICT DO NOTHING`, nameSuffixLength).Error
	if err != nil {
		return fmt.Errorf("fill name suffixes: %w", err)
	}
	return nil
}

// bytewise is col compared byte by byte (code point order), which is what
// makes a prefix a range. SQLite's default collation already is; PostgreSQL
// needs "C" (and idx_members_account_email_bytes serves it).
func (s *Store) bytewise(col string) string {
	if s.Dialect == "postgres" {
		return col + ` COLLATE "C"`
	}
	return col
}

// bindVar is the n-th (from 1) parameter placeholder of raw database/sql
// statements; GORM rewrites "?" itself, plain database/sql does not.
func bindVar(dialect string, n int) string {
	if dialect == "postgres" {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// prefixRange returns the bounds of the strings that start with p in code
// point order: lo <= s < hi. ok is false when no string is above every such
// s, and then only lo applies.
func prefixRange(p string) (lo, hi string, ok bool) {
	runes := []rune(p)
	for i := len(runes) - 1; i >= 0; i-- {
		r := runes[i] + 1
		if r == 0xD800 {
			r = 0xE000 // surrogates are not characters
		}
		if r <= 0x10FFFF {
			return p, string(runes[:i]) + string(r), true
		}
	}
	return p, "", false
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
